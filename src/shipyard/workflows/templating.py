"""Sandboxed Jinja2 templates for prompts, commands, commit messages and `when` conditions.

Templates see `inputs`, `steps.<id>` (`output`, `status`, `exit_code`, …), `work_order`
(`id`, `branch`, `repository_url`, `base_branch`) and `command(name, arguments, default)`;
besides Jinja's own filters there are `q` (shell-quote) and `oneline` (collapse whitespace).
In shell mode (`run` steps) every `{{ … }}` value is shell-quoted, so no input can break out
of its argument; the literal text of the template is left as it is.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import missing

from shipyard.domain.errors import WorkflowInvalid
from shipyard.domain.untrusted import quote
from shipyard.workflows.commands import apply_arguments, command_path, display_name, load_command

CONTEXT_NAMES = ("inputs", "steps", "work_order")
_SNIPPET_CHARS = 60


class _Quoted(str):
    """Text already quoted for the shell (by the `q` filter), so shell mode leaves it alone."""

    __slots__ = ()


class _Undefined(StrictUndefined):
    """StrictUndefined whose message names the missing name plainly."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        if self._undefined_hint:
            return self._undefined_hint
        if self._undefined_obj is missing:
            return f"{self._undefined_name!r} is undefined"
        return f"{self._undefined_name!r} is undefined (no such key or attribute)"


def shell_quote(value: Any) -> str:
    """The value as one shell word (None becomes the empty word)."""
    if isinstance(value, _Quoted):
        return value
    return _Quoted(shlex.quote("" if value is None else str(value)))


def one_line(value: Any) -> str:
    """The text with every run of whitespace (newlines too) collapsed to one space."""
    return " ".join(("" if value is None else str(value)).split())


def _finalize_plain(value: Any) -> Any:
    return "" if value is None else value


def _untrusted(value: Any, label: str = "text") -> str:
    """`{{ event.body | untrusted("issue body") }}`: outside text cleaned and fenced as data."""
    return quote(label, "" if value is None else str(value))


def _command(repo_path: Path | None, name: str, arguments: Any = "", default: str | None = None) -> str:
    text = "" if arguments is None else str(arguments)
    if repo_path is not None and command_path(repo_path, name).is_file():
        return load_command(repo_path, name, text)
    if default is not None:
        return apply_arguments(str(default), text)
    if repo_path is None:
        raise WorkflowInvalid(f"command '{display_name(name)}' not found: no repository to load it from")
    return load_command(repo_path, name, text)  # raises, naming the missing file


def environment(repo_path: Path | None = None, *, shell: bool = False) -> SandboxedEnvironment:
    """The sandboxed environment every Shipyard template renders in."""
    env = SandboxedEnvironment(
        undefined=_Undefined,
        autoescape=False,
        keep_trailing_newline=True,
        finalize=shell_quote if shell else _finalize_plain,
    )
    env.filters["q"] = shell_quote
    env.filters["oneline"] = one_line
    env.filters["untrusted"] = _untrusted
    env.globals["command"] = partial(_command, repo_path)
    return env


def render(
    template: str,
    context: Mapping[str, Any],
    *,
    repo_path: Path | None = None,
    shell: bool = False,
) -> str:
    """Render a template; WorkflowInvalid on syntax errors, undefined names or failing filters."""
    env = environment(repo_path, shell=shell)
    try:
        return env.from_string(template).render(dict(context))
    except TemplateSyntaxError as err:
        raise WorkflowInvalid(f"template syntax error at line {err.lineno}: {err.message}") from None
    except (TemplateError, TypeError, ValueError, ArithmeticError) as err:
        raise WorkflowInvalid(f"template {_snippet(template)}: {_problem(err)}") from None


def evaluate_condition(expression: str, context: Mapping[str, Any]) -> bool:
    """Evaluate a `when:` expression (optionally wrapped in `{{ }}`) to a boolean."""
    return bool(evaluate(expression, context, "when"))


def evaluate(expression: str, context: Mapping[str, Any], label: str = "expression") -> Any:
    """The value of an expression (optionally wrapped in `{{ }}`): a list stays a list.
    WorkflowInvalid, starting with `label` and the expression, when it cannot be evaluated."""
    env = environment()
    try:
        compiled = env.compile_expression(unwrap_expression(expression), undefined_to_none=False)
        value = compiled(**context)
        if isinstance(value, _Undefined):  # a bare missing name: said now, not where it is used
            raise UndefinedError(value._undefined_message)
        return value
    except (TemplateError, TypeError, ValueError, ArithmeticError) as err:
        raise WorkflowInvalid(f"{label} {_snippet(expression)}: {_problem(err)}") from None


def value_of(template: str, context: Mapping[str, Any], label: str, repo_path: Path | None = None) -> Any:
    """What a field that takes data gives: the value of a lone `{{ … }}` (a list stays a list),
    else the text the template renders to."""
    if is_expression(template):
        return evaluate(template, context, label)
    return render(template, context, repo_path=repo_path)


def is_expression(template: str) -> bool:
    """Whether the template is one `{{ … }}` and nothing else (its value can be had as it is)."""
    return unwrap_expression(template) != template.strip()


def unwrap_expression(expression: str) -> str:
    """`{{ x }}` → `x`, so `when:` accepts either form."""
    text = expression.strip()
    if text.startswith("{{") and text.endswith("}}") and text.count("{{") == 1:
        return text[2:-2].strip()
    return text


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= _SNIPPET_CHARS else flat[: _SNIPPET_CHARS - 1] + "…")


def _problem(err: Exception) -> str:
    if isinstance(err, TemplateSyntaxError):
        return f"syntax error: {err.message}"
    message = err.message if isinstance(err, TemplateError) else str(err)
    return message or type(err).__name__


@dataclass(frozen=True)
class TemplateRefs:
    """What a template reads: top-level names, `inputs.<name>` and `steps.<id>`."""

    names: frozenset[str]
    inputs: frozenset[str]
    steps: frozenset[str]


def template_refs(template: str) -> TemplateRefs:
    """Parse a template (WorkflowInvalid on a syntax error) and report what it reads."""
    env = environment()
    try:
        tree = env.parse(template)
    except TemplateSyntaxError as err:
        raise WorkflowInvalid(f"template syntax error at line {err.lineno}: {err.message}") from None
    return _refs(env, tree)


def expression_refs(expression: str) -> TemplateRefs:
    """Compile a `when:` expression (WorkflowInvalid on a syntax error) and report what it reads."""
    env = environment()
    text = unwrap_expression(expression)
    try:
        env.compile_expression(text)
        tree = env.parse("{{ (" + text + ") }}")
    except TemplateSyntaxError as err:
        raise WorkflowInvalid(f"expression syntax error: {err.message}") from None
    return _refs(env, tree)


def _refs(env: SandboxedEnvironment, tree: nodes.Template) -> TemplateRefs:
    known = set(CONTEXT_NAMES) | set(env.globals)
    names = frozenset(meta.find_undeclared_variables(tree) - known)
    return TemplateRefs(names, _keys_read(tree, "inputs"), _keys_read(tree, "steps"))


def _keys_read(tree: nodes.Template, name: str) -> frozenset[str]:
    called = {id(call.node) for call in tree.find_all(nodes.Call)}  # `inputs.get(…)` is a method
    found: set[str] = set()
    for attr in tree.find_all(nodes.Getattr):
        if _is_name(attr.node, name) and id(attr) not in called:
            found.add(attr.attr)
    for item in tree.find_all(nodes.Getitem):
        key = item.arg.value if isinstance(item.arg, nodes.Const) else None
        if _is_name(item.node, name) and isinstance(key, str):
            found.add(key)
    return frozenset(found)


def _is_name(node: nodes.Node, name: str) -> bool:
    return isinstance(node, nodes.Name) and node.name == name
