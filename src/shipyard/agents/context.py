"""Context packs (seed 002 §2.2, §4.2): the files a role's agent finds in `.shipyard/context/`.

Each pack becomes one file (or, for a glob, one per match): `onboarding.<doc>` the onboarding
document (the repository's own `onboarding/<doc>.md`, else the store's, else the shipped one),
`recentLogs:N` the latest N other work orders on the repository with their last events,
`priorPRs:N` their latest N pull requests, `adrs` the architecture decision records, and a path
or glob those files of the repository. Every file is cut to a bound with a note saying so, all
together to another, and what looks like a secret (a value the step knows is one, or a token of
a well-known shape) is replaced by `***`. An index, `README.md`, lists what is there and why.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shipyard.agents.roles import RoleProfile, builtin_doc, doc_ref_of_pack
from shipyard.domain.work_orders import WorkOrder
from shipyard.store.store import Store

CONTEXT_DIR = Path(".shipyard") / "context"
MAX_FILE_CHARS = 24_000
MAX_TOTAL_CHARS = 96_000
MAX_GLOB_FILES = 20
LOG_EVENTS = 15  # events of each earlier work order in `recentLogs`
ADR_GLOBS = ("docs/adr/**/*.md", "docs/adrs/**/*.md", "docs/decisions/**/*.md", "adr/**/*.md")
REDACTED = "***"
# Tokens of well-known shapes: GitHub, OpenAI/Anthropic-style keys, AWS access keys, Slack, and
# private key blocks.
_SECRET_SHAPES = re.compile(
    r"gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|sk-[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}"
    r"|xox[abprs]-[A-Za-z0-9-]{10,}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"
)


@dataclass
class ContextFile:
    name: str  # its path under CONTEXT_DIR
    pack: str  # the pack it came from
    text: str
    cut: bool = False
    redacted: int = 0  # how many secrets were replaced


def redact_secrets(text: str, known: Callable[[str], str]) -> tuple[str, int]:
    """`text` with the step's known secrets and token-shaped strings replaced; how many were."""
    hidden = known(text)
    count = hidden.count(REDACTED) - text.count(REDACTED)
    hidden, shaped = _SECRET_SHAPES.subn(REDACTED, hidden)
    return hidden, count + shaped


async def gather(
    profile: RoleProfile,
    repo: Path,
    store: Store,
    wo: WorkOrder,
    known: Callable[[str], str],
    stored_doc: str | None = None,
) -> list[ContextFile]:
    """The files of the profile's packs, bounded and redacted, with the index first."""
    found: list[ContextFile] = []
    for pack in profile.context_packs:
        found += await _pack(pack, profile, repo, store, wo, stored_doc)
    total, kept = 0, []
    for file in found:
        file.text, file.redacted = redact_secrets(file.text, known)
        if len(file.text) > MAX_FILE_CHARS:
            file.text = file.text[:MAX_FILE_CHARS] + f"\n\n[cut: the first {MAX_FILE_CHARS} characters]\n"
            file.cut = True
        if total + len(file.text) > MAX_TOTAL_CHARS:
            room = max(MAX_TOTAL_CHARS - total, 0)
            file.text = (
                file.text[:room] + f"\n\n[cut: the context packs hold {MAX_TOTAL_CHARS} characters in all]\n"
            )
            file.cut = True
        total += len(file.text)
        kept.append(file)
    return [_index(profile, kept), *kept]


async def keep_out_of_git(repo: Path) -> None:
    """Have git ignore CONTEXT_DIR in `repo` (its `info/exclude`, which a worktree shares with its
    mirror), so neither Shipyard's commit nor an agent's own `git add -A` takes the files."""
    from shipyard.gitutil.run import run_git

    found = await run_git("rev-parse", "--git-path", "info/exclude", cwd=repo)
    if not found.ok:
        return
    exclude = (repo / found.stdout.strip()).resolve()
    line = f"/{CONTEXT_DIR.as_posix()}/"
    text = exclude.read_text(encoding="utf-8") if exclude.is_file() else ""
    if line not in text.splitlines():
        exclude.parent.mkdir(parents=True, exist_ok=True)
        exclude.write_text(
            text + ("" if text.endswith("\n") or not text else "\n") + line + "\n", encoding="utf-8"
        )


def write(repo: Path, files: list[ContextFile]) -> Path:
    """The files under `repo`'s CONTEXT_DIR (emptied first); that directory."""
    root = repo / CONTEXT_DIR
    remove(repo)
    for file in files:
        path = root / file.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(file.text, encoding="utf-8")
    return root


def remove(repo: Path) -> None:
    """Take CONTEXT_DIR away again (and `.shipyard/` if nothing else is in it)."""
    import shutil

    shutil.rmtree(repo / CONTEXT_DIR, ignore_errors=True)
    parent = repo / CONTEXT_DIR.parent
    if parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()


def preamble(profile: RoleProfile, files: list[ContextFile]) -> str:
    """What the agent is told before its prompt: its role, and the context files to read."""
    listed = "\n".join(f"- {CONTEXT_DIR / f.name} ({f.pack})" for f in files)
    read = f"\n\nRead these files before you start (they are not part of the repository):\n{listed}"
    return profile.instructions() + (read if files else "") + "\n\n---\n\n"


async def _pack(
    pack: str, profile: RoleProfile, repo: Path, store: Store, wo: WorkOrder, stored_doc: str | None
) -> list[ContextFile]:
    if pack.startswith("onboarding."):
        ref = doc_ref_of_pack(pack)
        text = _read(repo / ref)
        if text is None and stored_doc is not None and ref == profile.onboarding_doc_ref:
            text = stored_doc
        text = text if text is not None else builtin_doc(ref)
        if text is None:
            text = f"(no {ref}: neither the repository nor Shipyard has one)\n"
        return [ContextFile(f"{pack}.md", pack, text)]
    if pack.startswith("recentLogs:"):
        return [ContextFile("recent-logs.md", pack, await _recent_logs(store, wo, int(pack.split(":")[1])))]
    if pack.startswith("priorPRs:"):
        return [ContextFile("prior-prs.md", pack, await _prior_prs(store, wo, int(pack.split(":")[1])))]
    globs = ADR_GLOBS if pack == "adrs" else (pack,)
    matches = sorted({p for g in globs for p in repo.glob(g) if p.is_file() and _inside(repo, p)})
    if not matches:
        return [ContextFile(f"{_slug(pack)}.md", pack, f"(nothing in the repository matches {pack})\n")]
    return [
        ContextFile(f"repo/{path.relative_to(repo).as_posix()}", pack, _read(path) or "")
        for path in matches[:MAX_GLOB_FILES]
    ]


async def _recent_logs(store: Store, wo: WorkOrder, count: int) -> str:
    earlier = [w for w in await _others(store, wo, count * 3) if w.status.is_terminal][:count]
    parts = [f"# The last {count} work orders on this repository, with their last events\n"]
    for other in earlier:
        parts.append(f"\n## {other.id}: {other.workflow_type} {other.status.value}")
        if other.error_message:
            parts.append(f"error: {other.error_message}")
        for event in await store.last_events(other.id, limit=LOG_EVENTS):
            said = event.data.get("message") or event.data.get("error") or event.data.get("line") or ""
            parts.append(f"- {event.ts:%Y-%m-%d %H:%M:%S} {event.type} {str(said)[:300]}".rstrip())
    if not earlier:
        parts.append("\n(none yet)")
    return "\n".join(parts) + "\n"


async def _prior_prs(store: Store, wo: WorkOrder, count: int) -> str:
    with_pr = [w for w in await _others(store, wo, 100) if w.github_pull_request_url][:count]
    lines = [f"# The last {count} pull requests Shipyard opened on this repository\n"]
    lines += [
        f"- {w.github_pull_request_url} ({w.git_branch_name}, {w.status.value}): {w.workflow_type}"
        for w in with_pr
    ]
    return "\n".join(lines + ([] if with_pr else ["(none yet)"])) + "\n"


async def _others(store: Store, wo: WorkOrder, limit: int) -> list[WorkOrder]:
    listed, _ = await store.list_work_orders(repository=wo.repository_url, limit=limit + 1)
    return [w for w in listed if w.id != wo.id][:limit]


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else None
    except OSError:
        return None


def _inside(repo: Path, path: Path) -> bool:
    """Whether `path` is in `repo` and not git's own (a symlink out of it does not count)."""
    try:
        relative = path.resolve().relative_to(repo.resolve())
    except ValueError:
        return False
    return relative.parts[:1] != (".git",) and relative.parts[:2] != CONTEXT_DIR.parts


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "pack"


def _index(profile: RoleProfile, files: list[ContextFile]) -> ContextFile:
    lines = [
        f"# Context for the {profile.name}\n",
        "| file | pack | characters | note |",
        "| --- | --- | --- | --- |",
    ]
    for f in files:
        notes = [*(["cut"] if f.cut else []), *([f"{f.redacted} secrets hidden"] if f.redacted else [])]
        lines.append(f"| {f.name} | {f.pack} | {len(f.text)} | {', '.join(notes)} |")
    return ContextFile("README.md", "index", "\n".join(lines) + "\n")
