"""Claude Code custom commands: `<repo>/.claude/commands/<name>.md` turned into prompt text.

Follows Claude Code's rules: a leading YAML front-matter block is dropped, `$ARGUMENTS` is
replaced by the whole argument string and `$1`, `$2`, … by its whitespace-separated words;
a command without any placeholder gets the arguments appended after a blank line.
"""

from __future__ import annotations

import re
from pathlib import Path

from shipyard.domain.errors import WorkflowInvalid

COMMANDS_DIR = Path(".claude") / "commands"

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(?:.*?\r?\n)?---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_PLACEHOLDER = re.compile(r"\$(ARGUMENTS|[1-9][0-9]*)")
_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def command_path(repo_path: Path, name: str) -> Path:
    """Where the command `name` (`/plan`, `/frontend/review`, `frontend:review`) lives."""
    segments = name.strip().lstrip("/").replace(":", "/").split("/")
    if not all(_SEGMENT.match(segment) for segment in segments):
        raise WorkflowInvalid(f"invalid command name {name!r}: use names like '/plan' or '/frontend/review'")
    return repo_path.joinpath(COMMANDS_DIR, *segments[:-1], segments[-1] + ".md")


def strip_front_matter(text: str) -> str:
    """The command body without its leading `---` front-matter block (and blank lines after it)."""
    text = text.removeprefix("\ufeff")
    match = _FRONT_MATTER.match(text)
    return text[match.end() :].lstrip("\r\n") if match else text


def apply_arguments(body: str, arguments: str) -> str:
    """Substitute `$ARGUMENTS`, `$1`, `$2`, …; without any placeholder, append the arguments."""
    words = arguments.split()

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key == "ARGUMENTS":
            return arguments
        position = int(key)
        return words[position - 1] if position <= len(words) else ""

    if _PLACEHOLDER.search(body):
        # One pass, so placeholder-like text inside the arguments is never substituted again.
        return _PLACEHOLDER.sub(replace, body)
    if not arguments.strip():
        return body
    return body.rstrip("\n") + "\n\n" + arguments


def load_command(repo_path: Path, name: str, arguments: str = "") -> str:
    """The prompt text of a repository's command; WorkflowInvalid when the file does not exist."""
    path = command_path(repo_path, name)
    if path.exists() and not path.resolve().is_relative_to(repo_path.resolve()):
        # A symlink out of the repository would hand files of the worker's disk to the agent.
        raise WorkflowInvalid(f"command '{display_name(name)}' points outside the repository: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorkflowInvalid(f"command '{display_name(name)}' not found: {path}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise WorkflowInvalid(f"command '{display_name(name)}' could not be read: {path}: {err}") from None
    return apply_arguments(strip_front_matter(text), arguments)


def list_commands(repo_path: Path) -> list[str]:
    """The names (`/plan`, `/frontend/review`) of every command a repository defines."""
    root = repo_path / COMMANDS_DIR
    if not root.is_dir():
        return []
    names = ("/" + path.relative_to(root).with_suffix("").as_posix() for path in root.rglob("*.md"))
    return sorted(names)


def display_name(name: str) -> str:
    """A command name with exactly one leading slash."""
    return "/" + name.strip().lstrip("/")
