"""Load workflow definitions from YAML text, the built-in library or a repository; bind inputs.

Resolution order: an inline definition, then the repository's own `.shipyard/workflows/`,
then the built-in library (`shipyard/workflows/builtin/*.yaml`).
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from shipyard.domain.errors import InvalidInput, WorkflowInvalid
from shipyard.workflows.schema import WorkflowDefinition, coerce_input
from shipyard.workflows.validation import check_definition, error_lines

REPOSITORY_DIR = Path(".shipyard") / "workflows"
_SUFFIXES = (".yaml", ".yml")
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects a key repeated in one mapping instead of keeping the last one."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:  # `<<: *defaults` may legitimately repeat keys
                continue
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key '{key}'", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def parse_yaml(text: str, source: str) -> Any:
    """The YAML document in `text`; WorkflowInvalid naming the line of a syntax error."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass: safe
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise WorkflowInvalid(f"{source}: {where}{err.problem or err.context or err}") from None
    except yaml.YAMLError as err:
        raise WorkflowInvalid(f"{source}: {err}") from None


def validate_data(data: Any, source: str) -> WorkflowDefinition:
    """Validate parsed YAML as a definition; one WorkflowInvalid, one line per problem."""
    if not isinstance(data, dict):
        what = "empty" if data is None else f"a {type(data).__name__}, not a mapping"
        raise WorkflowInvalid(f"{source}: a workflow definition must be a mapping; this one is {what}")
    try:
        defn = WorkflowDefinition.model_validate(_with_bare_pr_steps(data))
    except ValidationError as err:
        raise WorkflowInvalid("\n".join(f"{source}: {line}" for line in error_lines(err, data))) from None
    problems = check_definition(defn)
    if problems:
        raise WorkflowInvalid("\n".join(f"{source}: {line}" for line in problems))
    return defn.model_copy(update={"source": source})


def _with_bare_pr_steps(data: dict[str, Any]) -> dict[str, Any]:
    """Read a bare `pr:` (YAML null) as a pull request with default options."""
    steps = data.get("steps")
    if not isinstance(steps, list):
        return data
    fixed = [
        step | {"pr": {}} if isinstance(step, dict) and "pr" in step and step["pr"] is None else step
        for step in steps
    ]
    return data | {"steps": fixed}


def load_definition_text(text: str, source: str) -> WorkflowDefinition:
    """Parse and validate YAML text; `source` names it in every error message."""
    return validate_data(parse_yaml(text, source), source)


def load_definition_file(path: Path, source: str | None = None) -> WorkflowDefinition:
    """Load one definition file (`source` defaults to the path)."""
    label = source or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise WorkflowInvalid(f"{label}: cannot be read: {err}") from None
    return load_definition_text(text, label)


def _builtin_dir() -> resources.abc.Traversable:
    return resources.files("shipyard.workflows").joinpath("builtin")


def builtin_names() -> list[str]:
    """The names of the built-in workflows, sorted."""
    files = _builtin_dir().iterdir()
    return sorted(f.name.removesuffix(".yaml") for f in files if f.name.endswith(".yaml"))


def load_builtin(name: str) -> WorkflowDefinition:
    """A built-in workflow by name; InvalidInput when there is none."""
    if name not in builtin_names():
        raise InvalidInput(
            f"unknown built-in workflow '{name}'; built-in workflows: {', '.join(builtin_names())}"
        )
    text = _builtin_dir().joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    return load_definition_text(text, f"builtin/{name}.yaml")


@dataclass
class RepositoryScan:
    """The definitions of a repository's `.shipyard/workflows/`, and the files that failed."""

    definitions: list[WorkflowDefinition] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def repository_files(repo_path: Path) -> list[Path]:
    """Definition files in `<repo>/.shipyard/workflows/`, sorted."""
    folder = repo_path / REPOSITORY_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in _SUFFIXES and p.is_file())


def _source(repo_path: Path, path: Path) -> str:
    return path.relative_to(repo_path).as_posix()


def scan_repository(repo_path: Path) -> RepositoryScan:
    """Load every repository definition, collecting errors (invalid files, repeated names)."""
    scan = RepositoryScan()
    owner: dict[str, str] = {}
    for path in repository_files(repo_path):
        source = _source(repo_path, path)
        try:
            defn = load_definition_file(path, source)
        except WorkflowInvalid as err:
            scan.errors.append(err.message)
            continue
        if defn.name in owner:
            scan.errors.append(f"{source}: name '{defn.name}' is already used by {owner[defn.name]}")
            continue
        owner[defn.name] = source
        scan.definitions.append(defn)
    return scan


def list_repository_definitions(repo_path: Path) -> list[WorkflowDefinition]:
    """Every repository definition; WorkflowInvalid listing all problems if any file is invalid."""
    scan = scan_repository(repo_path)
    if scan.errors:
        raise WorkflowInvalid("\n".join(scan.errors))
    return scan.definitions


def find_in_repository(repo_path: Path, name: str) -> WorkflowDefinition | None:
    """The repository's definition `<name>.yaml` (or `.yml`), or the one whose `name:` is `name`."""
    files = repository_files(repo_path)
    for path in files:
        if path.stem == name:
            return load_definition_file(path, _source(repo_path, path))
    for path in files:
        if _declared_name(path) == name:
            return load_definition_file(path, _source(repo_path, path))
    return None


def _declared_name(path: Path) -> str | None:
    """The `name:` of a definition file, or None when it cannot be read at all."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    name = data.get("name") if isinstance(data, dict) else None
    return name if isinstance(name, str) else None


def resolve_definition(
    name: str | None,
    *,
    text: str | None = None,
    source: str = "<inline>",
    repo_path: Path | None = None,
) -> WorkflowDefinition:
    """The definition to run: inline text, else the repository's own, else a built-in."""
    if text is not None:
        return load_definition_text(text, source)
    if not name:
        raise InvalidInput("no workflow given: name one or pass a definition; " + _known_names(repo_path))
    if repo_path is not None and (found := find_in_repository(repo_path, name)) is not None:
        return found
    if name in builtin_names():
        return load_builtin(name)
    raise InvalidInput(f"unknown workflow '{name}'; " + _known_names(repo_path))


def _known_names(repo_path: Path | None) -> str:
    message = "built-in workflows: " + ", ".join(builtin_names())
    if repo_path is not None:
        local = sorted(d.name for d in scan_repository(repo_path).definitions)
        if local:
            message += " and in the repository: " + ", ".join(local)
    return message


def bind_inputs(
    defn: WorkflowDefinition, given: Mapping[str, Any], optional: Collection[str] = ()
) -> dict[str, Any]:
    """Every declared input with its value: given (converted to its type), default or None.
    Undeclared names are an error, except those in `optional` (filled in by Shipyard, such as
    the issue a work order is about), which are dropped."""
    unknown = sorted(set(given) - set(defn.inputs) - set(optional))
    if unknown:
        known = ", ".join(defn.inputs) or "none"
        names = ", ".join(f"'{n}'" for n in unknown)
        raise InvalidInput(f"workflow '{defn.name}' has no input {names}; its inputs: {known}")
    bound: dict[str, Any] = {}
    for name, spec in defn.inputs.items():
        value = given.get(name)
        try:
            bound[name] = spec.default if value is None else coerce_input(spec.type, value)
        except ValueError as err:
            raise InvalidInput(f"workflow '{defn.name}': input '{name}': {err}") from None
    missing = [n for n, spec in defn.inputs.items() if spec.required and bound[n] in (None, "")]
    if missing:
        raise InvalidInput(f"workflow '{defn.name}' needs input {', '.join(repr(n) for n in missing)}")
    return bound
