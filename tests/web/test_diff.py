"""A unified diff read file by file: statuses, line numbers, colouring, and the drawing limit."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from shipyard.gitutil import diff
from shipyard.web.diff import parse_diff

DIFF = """diff --git a/app.py b/app.py
index 1111111..2222222 100644
--- a/app.py
+++ b/app.py
@@ -1,3 +1,3 @@
 def hello():
-    return "hi"
+    return "hello"
 # end
\\ No newline at end of file
diff --git a/new.txt b/new.txt
new file mode 100644
index 0000000..3333333
--- /dev/null
+++ b/new.txt
@@ -0,0 +1,2 @@
+one <two>
+three
diff --git a/old.md b/gone.md
similarity index 90%
rename from old.md
rename to gone.md
diff --git a/logo.png b/logo.png
new file mode 100644
index 0000000..4444444
Binary files /dev/null and b/logo.png differ
diff --git a/dead.c b/dead.c
deleted file mode 100644
--- a/dead.c
+++ /dev/null
@@ -1 +0,0 @@
-int main;
"""


def test_files_statuses_counts_and_line_numbers() -> None:
    files = parse_diff(DIFF)
    assert [(f.path, f.status, f.added, f.removed) for f in files] == [
        ("app.py", "modified", 1, 1),
        ("new.txt", "added", 2, 0),
        ("gone.md", "renamed", 0, 0),
        ("logo.png", "binary", 0, 0),
        ("dead.c", "deleted", 0, 1),
    ]
    app = files[0]
    assert [(line.kind, line.old_no, line.new_no) for line in app.lines] == [
        ("hunk", None, None), ("ctx", 1, 1), ("del", 2, None),
        ("add", None, 2), ("ctx", 3, 3), ("note", None, None),
    ]  # fmt: skip
    assert files[2].old_path == "old.md"


def test_lines_are_coloured_by_language_and_escaped() -> None:
    app, new = parse_diff(DIFF)[:2]
    assert '<span class="tok-k">def</span>' in app.lines[1].html
    assert "&lt;two&gt;" in new.lines[1].html and "<two>" not in new.lines[1].html


def test_only_so_many_lines_are_drawn_and_the_rest_counted() -> None:
    big = "diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -0,0 +1,50 @@\n" + "".join(
        f"+{n}\n" for n in range(50)
    )
    (only,) = parse_diff(big + DIFF.split("diff --git a/new.txt")[0], max_lines=20)[:1]
    assert len(only.lines) == 20 and only.hidden_lines == 31 and only.added == 50
    files = parse_diff(big + DIFF, max_lines=20)
    assert all(not f.lines for f in files[1:]) and files[1].hidden_lines == 6  # the budget is spent


_AWKWARD = ("café.txt", "tab\there.txt", 'q"uote.txt', "sp ace.txt", "back\\slash.txt")


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@x.test"}
    env |= {"GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@x.test"}
    done = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, check=True)
    return done.stdout.decode()


async def test_paths_git_quotes_are_files_of_their_own(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "--quiet")
    _git(repo, "config", "diff.noprefix", "true")  # a user's setting must not change the headers
    (repo / "renamed\tfrom.txt").write_text("same\n" * 5)
    _git(repo, "add", "--all")
    _git(repo, "commit", "--quiet", "-m", "base")
    for name in _AWKWARD:
        (repo / name).write_text(f"{name}\n")
    _git(repo, "mv", "renamed\tfrom.txt", "renamed é.txt")
    _git(repo, "add", "--all")
    _git(repo, "commit", "--quiet", "-m", "awkward names")
    files = parse_diff(await diff(repo, "HEAD~1"))
    assert sorted((f.path, f.status, f.added) for f in files) == sorted(
        [(name, "added", 1) for name in _AWKWARD] + [("renamed é.txt", "renamed", 0)]
    )
    assert next(f.old_path for f in files if f.status == "renamed") == "renamed\tfrom.txt"
