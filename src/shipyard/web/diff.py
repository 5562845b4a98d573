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

_HEADER = "diff --git "
_RENAMED = ("rename from ", "rename to ", "copy from ", "copy to ")
# git's C-style quoting of a path (quote_c_style): these letters, otherwise three octal digits.
_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13}
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_ESCAPE = re.compile(rb"\\([0-7]{1,3}|.)", re.DOTALL)
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
        if line.startswith(_HEADER):
            old_path, path = _header_paths(line.removeprefix(_HEADER))
            files.append(FileDiff(path=path, old_path=old_path))
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
        elif line.startswith(_RENAMED):
            _rename(diff, line)
        elif line.startswith("Binary files"):
            diff.status = "binary"
    return []


def _header_paths(rest: str) -> tuple[str, str]:
    """(old, new) path of a `diff --git` header, each quoted by git if it has to be."""
    if rest.startswith('"'):
        old, after = _unquote(rest)
        new = _unquote(after[1:])[0] if after.startswith(' "') else after[1:]
        return old.removeprefix("a/"), new.removeprefix("b/")
    # Unquoted and unrenamed, both halves name the same path: `a/P b/P`, spaces and all.
    half = (len(rest) - 5) // 2
    if rest[2 : 2 + half] == rest[5 + half :]:
        return rest[2 : 2 + half], rest[5 + half :]
    old, _, new = rest.partition(" b/")  # a rename: its `rename from/to` lines correct this
    return old.removeprefix("a/"), new


def _rename(diff: FileDiff, line: str) -> None:
    """`rename from/to` (and copy) lines name the paths unambiguously: take them."""
    verb, end, path = line.split(" ", 2)
    name = _unquote(path)[0] if path.startswith('"') else path
    if verb == "rename":
        diff.status = "renamed"
    if end == "from":
        diff.old_path = name
    else:
        diff.path = name


def _unquote(text: str) -> tuple[str, str]:
    """The C-quoted string that `text` starts with, decoded, and the text after it."""
    quoted = _QUOTED.match(text)
    if not quoted:
        return text, ""
    raw = _ESCAPE.sub(_unescape, quoted.group(1).encode())
    return raw.decode("utf-8", errors="replace"), text[quoted.end() :]


def _unescape(escape: re.Match[bytes]) -> bytes:
    code = escape.group(1)
    if code[:1].isdigit():
        return bytes([int(code, 8) & 0xFF])
    return bytes([_ESCAPES.get(code.decode("latin-1"), code[0])])


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
