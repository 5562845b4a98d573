"""The `github` Forge reads a pull request, its review comments, submits reviews and answers comments,
against the fake GitHub over HTTP (with a real git diff where comments must land on its lines)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakes.github_api import FakeGitHub
from forge_kit import REPO
from shipyard.forge.base import Forge, InlineComment, ReviewSpec
from shipyard.forge.github import GitHubFailed
from support import MakeRepo, git


@pytest.fixture
def diffed(github: FakeGitHub, make_repo: MakeRepo, tmp_path: Path) -> int:
    """A pull request by alice whose head rewrites lines 3 and 4 of app.py (50 lines), with the
    repository's git data given to the fake; its number."""
    work = make_repo(
        "widgets", {"app.py": "".join(f"line {n}\n" for n in range(1, 51)), "README.md": "# w\n"}
    )
    git(work, "switch", "-q", "-c", "fix")
    text = (work / "app.py").read_text().replace("line 3\nline 4\n", "line three\nline four\n")
    (work / "app.py").write_text(text)
    git(work, "commit", "-q", "-am", "Spell out 3 and 4")
    bare = tmp_path / "git" / f"{REPO}.git"
    git(tmp_path, "clone", "-q", "--bare", "--no-local", str(work), str(bare))
    github.git_dirs[REPO] = bare
    return github.add_pull(REPO, "fix", "main", "Spell numbers", user="alice").number


def requests(github: FakeGitHub, method: str, path: str) -> list[bytes]:
    return [c.body for c in github.received if (c.method, c.path) == (method, path)]


async def test_a_pull_request_is_read_by_number(forge: Forge, github: FakeGitHub) -> None:
    pull = github.add_pull(REPO, "feature", "main", "Add widgets", "Fixes #1", draft=True)
    info = await forge.get_pr(pull.number)
    assert (info.number, info.title, info.body, info.head_branch, info.base_branch) == (
        pull.number,
        "Add widgets",
        "Fixes #1",
        "feature",
        "main",
    )
    assert (info.state, info.draft, info.url) == (
        "open",
        True,
        f"https://github.com/{REPO}/pull/{pull.number}",
    )

    pull.draft = False
    await forge.merge_pr(pull.number)
    assert (await forge.get_pr(pull.number)).state == "merged"

    with pytest.raises(GitHubFailed) as caught:
        await forge.get_pr(99)
    assert caught.value.status == 404
    assert (
        caught.value.message == f"pull request #99 of {REPO} was not found, or the token cannot see it (404)"
    )


async def test_review_comments_are_read_oldest_first_to_the_last_page(
    forge: Forge, github: FakeGitHub
) -> None:
    number = github.add_pull(REPO, "feature", "main", "Add widgets").number
    made = [
        github.add_review_comment(REPO, number, "app.py", n, f"nit {n}", user="alice") for n in range(1, 151)
    ]
    comments = await forge.list_review_comments(number)
    assert [c.id for c in comments] == [c.id for c in made]
    first = comments[0]
    assert (first.path, first.line, first.side, first.body, first.author) == (
        "app.py",
        1,
        "RIGHT",
        "nit 1",
        "alice",
    )
    assert first.in_reply_to_id is None and first.created_at is not None
    assert first.html_url == f"https://github.com/{REPO}/pull/{number}#discussion_r{first.id}"
    assert len(requests(github, "GET", f"/repos/{REPO}/pulls/{number}/comments")) == 2  # 100 a page

    reviews = await forge.list_reviews(number)  # each comment came in a review of its own
    assert len(reviews) == 150 and {r.author for r in reviews} == {"alice"}
    assert len(requests(github, "GET", f"/repos/{REPO}/pulls/{number}/reviews")) == 2
    assert await forge.list_review_comments(github.add_pull(REPO, "other", "main", "Other").number) == []


async def test_outdated_comments_and_answers_lacking_fields_are_read(
    forge: Forge, github: FakeGitHub
) -> None:
    number = github.add_pull(REPO, "feature", "main", "Add widgets").number
    github.add_review_comment(REPO, number, "app.py", 7, "Outdated now").line = None
    github.add_review_comment(REPO, number, "app.py", 9, "Still here", user="bob")
    outdated, current = await forge.list_review_comments(number)
    assert (outdated.line, outdated.body, current.line) == (None, "Outdated now", 9)

    github.left_out = {
        "line",
        "side",
        "user",
        "html_url",
        "created_at",
        "_links",
        "reactions",
        "subject_type",
    }
    sparse = await forge.list_review_comments(number)
    assert [(c.id, c.path, c.line, c.side, c.author, c.html_url, c.created_at) for c in sparse] == [
        (outdated.id, "app.py", None, "RIGHT", "ghost", "", None),
        (current.id, "app.py", None, "RIGHT", "ghost", "", None),
    ]
    reply = await forge.reply_to_review_comment(number, current.id, "Fixed")
    assert (reply.id, reply.html_url) == (github.review_comments(REPO, number)[-1].id, "")
    review = await forge.create_review(number, ReviewSpec(body="Thanks"))
    assert (review.state, review.author, review.html_url) == ("COMMENTED", "ghost", "")


async def test_a_review_is_submitted_with_its_inline_comments(forge: Forge, github: FakeGitHub) -> None:
    number = github.add_pull(REPO, "feature", "main", "Add widgets", user="alice").number
    spec = ReviewSpec(
        body="Two things.",
        event="REQUEST_CHANGES",
        comments=[
            InlineComment(path="app.py", line=3, body="Name this."),
            InlineComment(path="app.py", line=8, body="Why was this removed?", side="LEFT"),
        ],
    )
    review = await forge.create_review(number, spec)
    assert (review.state, review.author, review.body) == ("CHANGES_REQUESTED", github.login, "Two things.")
    assert [
        json.loads(body) for body in requests(github, "POST", f"/repos/{REPO}/pulls/{number}/reviews")
    ] == [
        {
            "event": "REQUEST_CHANGES",
            "body": "Two things.",
            "comments": [
                {"path": "app.py", "line": 3, "body": "Name this.", "side": "RIGHT"},
                {"path": "app.py", "line": 8, "body": "Why was this removed?", "side": "LEFT"},
            ],
        }
    ]
    comments = await forge.list_review_comments(number)
    assert [(c.path, c.line, c.side, c.body, c.author) for c in comments] == [
        ("app.py", 3, "RIGHT", "Name this.", github.login),
        ("app.py", 8, "LEFT", "Why was this removed?", github.login),
    ]
    assert [r.id for r in await forge.list_reviews(number)] == [review.id]

    approved = await forge.create_review(number, ReviewSpec(event="APPROVE"))
    assert approved.state == "APPROVED"
    assert json.loads(requests(github, "POST", f"/repos/{REPO}/pulls/{number}/reviews")[-1]) == {
        "event": "APPROVE"
    }


async def test_replies_thread_under_the_comment_they_answer(forge: Forge, github: FakeGitHub) -> None:
    number = github.add_pull(REPO, "feature", "main", "Add widgets").number
    asked = github.add_review_comment(REPO, number, "app.py", 12, "Is this tested?", user="alice")
    reply = await forge.reply_to_review_comment(number, asked.id, "Yes: test_app.py covers it.")
    assert reply.html_url == f"https://github.com/{REPO}/pull/{number}#discussion_r{reply.id}"
    path = f"/repos/{REPO}/pulls/{number}/comments/{asked.id}/replies"
    assert [json.loads(body) for body in requests(github, "POST", path)] == [
        {"body": "Yes: test_app.py covers it."}
    ]

    question, answer = await forge.list_review_comments(number)
    assert (question.id, question.in_reply_to_id) == (asked.id, None)
    assert (answer.id, answer.in_reply_to_id, answer.author) == (reply.id, asked.id, github.login)
    assert (answer.path, answer.line, answer.body) == ("app.py", 12, "Yes: test_app.py covers it.")

    with pytest.raises(GitHubFailed) as caught:
        await forge.reply_to_review_comment(number, 999, "To nothing")
    assert (
        caught.value.status == 404 and f"review comment 999 of pull request #{number}" in caught.value.message
    )


async def test_inline_comments_land_only_on_lines_of_the_diff(
    forge: Forge, github: FakeGitHub, diffed: int
) -> None:
    """GitHub takes a comment on a line its diff shows (changed, or context around a change) and
    refuses the whole review for any other, without saying which: the error says."""
    on_change = InlineComment(path="app.py", line=3, body="Spelled out: good.")
    on_old_side = InlineComment(path="app.py", line=4, body="Was a digit.", side="LEFT")
    await forge.create_review(diffed, ReviewSpec(comments=[on_change, on_old_side]))
    landed = await forge.list_review_comments(diffed)
    assert [(c.line, c.side) for c in landed] == [(3, "RIGHT"), (4, "LEFT")]

    far = InlineComment(path="app.py", line=40, body="Not in the diff.")
    untouched = InlineComment(path="README.md", line=1, body="Not in the pull request.")
    with pytest.raises(GitHubFailed) as caught:
        await forge.create_review(
            diffed, ReviewSpec(body="Three notes", comments=[on_change, far, untouched])
        )
    assert caught.value.status == 422
    assert caught.value.message == (
        f"GitHub answered 422 for the review of pull request #{diffed} of {REPO} (Unprocessable Entity: "
        "Line could not be resolved and Path could not be resolved). Inline comments not on the diff: "
        "app.py:40: not a line of the pull request's diff on the RIGHT side (changed lines and their "
        "context); README.md:1: the pull request does not change this file"
    )
    assert len(github.review_comments(REPO, diffed)) == 2  # all or nothing: none of the three landed


async def test_a_refusal_that_is_not_about_lines_blames_no_comment(
    forge: Forge, github: FakeGitHub, diffed: int
) -> None:
    github.repo(REPO).pulls[diffed].user = github.login  # the token's own pull request now
    spec = ReviewSpec(event="APPROVE", comments=[InlineComment(path="app.py", line=4, body="Fine.")])
    with pytest.raises(GitHubFailed) as caught:
        await forge.create_review(diffed, spec)
    assert caught.value.message == (
        f"GitHub answered 422 for the review of pull request #{diffed} of {REPO} "
        "(Unprocessable Entity: Can not approve your own pull request)"
    )
