"""Workflow definitions: the YAML schema, its loader and validator, templating, built-ins.

`schema` is pure pydantic (the Temporal workflow imports it); `loader` finds and validates
definitions (inline, `<repo>/.shipyard/workflows/`, `builtin/`) and binds inputs;
`templating` renders sandboxed Jinja2 with `command()` from `commands` (`.claude/commands`).
Only the schema is re-exported here, so importing this package stays free of side effects.
"""

from shipyard.workflows.schema import InputSpec, PrSpec, StepDef, StepKind, WorkflowDefinition

__all__ = ["InputSpec", "PrSpec", "StepDef", "StepKind", "WorkflowDefinition"]
