"""A unified diff split file by file, each line marked and coloured by its file's language."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from markupsafe import Markup, escape
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import TextLexer, get_lexer_for_filename
from pygments.util import ClassNotFound

_HEADER = re.compile(r"^diff --git a/(.*) b/(.*)$")
_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@(.*)$")
_FORMATTER = HtmlFormatter(nowrap=True, classprefix="tok-")
MAX_LINES = 4000  # lines drawn in a page; the rest is counted, and the raw diff has it all


@dataclass
class DiffLine:
    kind: str  # add | del | ctx | hunk | note
    html: Markup
    old_no: int | None = None
    new_no: int | None = None


@dataclass
class FileDiff:
    path: str
    old_path: str
    status: str = "modified"  # added | deleted | renamed | modified | binary
    added: int = 0
    removed: int = 0
    lines: list[DiffLine] = field(default_factory=list)
    hidden_lines: int = 0  # over MAX_LINES, not drawn


def parse_diff(text: str, max_lines: int = MAX_LINES) -> list[FileDiff]:
    """The files of a `git diff` output, their lines highlighted, at most `max_lines` drawn."""
    files: list[FileDiff] = []
    raw: list[list[str]] = []
    for line in text.splitlines():
        header = _HEADER.match(line)
        if header:
            files.append(FileDiff(path=header.group(2), old_path=header.group(1)))
            raw.append([])
        elif files:
            raw[-1].append(line)
    budget = max_lines
    for diff, lines in zip(files, raw, strict=True):
        budget -= _fill(diff, lines, budget)
    return files


def _fill(diff: FileDiff, lines: list[str], budget: int) -> int:
    """Read one file's lines into `diff`; how many of the budget it drew."""
    body = _meta(diff, lines)
    diff.added = sum(1 for line in body if line.startswith("+"))
    diff.removed = sum(1 for line in body if line.startswith("-"))
    drawn = body[: max(budget, 0)]
    diff.hidden_lines = len(body) - len(drawn)
    diff.lines = _numbered(drawn, _lexer(diff.path))
    return len(drawn)


def _meta(diff: FileDiff, lines: list[str]) -> list[str]:
    """Take the header lines (mode, index, ---/+++) off; set the file's status; the body remains."""
    for n, line in enumerate(lines):
        if line.startswith("@@"):
            return lines[n:]
        if line.startswith("new file"):
            diff.status = "added"
        elif line.startswith("deleted file"):
            diff.status = "deleted"
        elif line.startswith("rename from"):
            diff.status = "renamed"
        elif line.startswith("Binary files"):
            diff.status = "binary"
    return []


def _numbered(body: list[str], lexer: Lexer) -> list[DiffLine]:
    source = ["" if line.startswith(("@@", "\\")) else line[1:] for line in body]
    code = highlight("\n".join(source), lexer, _FORMATTER).split("\n")
    code += [str(escape(text)) for text in source[len(code) :]]  # should the lexer drop a line
    out: list[DiffLine] = []
    old_no = new_no = 0
    for line, html in zip(body, code, strict=False):
        hunk = _HUNK.match(line)
        if hunk:
            old_no, new_no = int(hunk.group(1)), int(hunk.group(2))
            out.append(DiffLine("hunk", escape(line)))
        elif line.startswith("+"):
            out.append(DiffLine("add", Markup(html), new_no=new_no))
            new_no += 1
        elif line.startswith("-"):
            out.append(DiffLine("del", Markup(html), old_no=old_no))
            old_no += 1
        elif line.startswith("\\"):
            out.append(DiffLine("note", escape(line)))
        else:
            out.append(DiffLine("ctx", Markup(html), old_no=old_no, new_no=new_no))
            old_no, new_no = old_no + 1, new_no + 1
    return out


def _lexer(path: str) -> Lexer:
    lexer: Lexer
    try:
        lexer = get_lexer_for_filename(path, stripnl=False, ensurenl=False)
    except ClassNotFound:
        lexer = TextLexer(stripnl=False, ensurenl=False)
    return lexer


def highlight_css() -> str:
    """The colours of highlighted tokens, light and dark, for the page's stylesheet."""
    light = HtmlFormatter(style="default", classprefix="tok-").get_style_defs(".diff")  # type: ignore[no-untyped-call]
    dark = HtmlFormatter(style="monokai", classprefix="tok-").get_style_defs(".diff")  # type: ignore[no-untyped-call]
    return f"{light}\n@media (prefers-color-scheme: dark) {{\n{dark}\n}}\n"
