"""Role profiles (seed 002 §2 to §4): who an agent is in a run, what it is told, what it may do.

The twelve built-in profiles are YAML files in `agents/roles/`, with the onboarding documents
they point at in `agents/onboarding/`. A step names one with `role:`; its profile becomes the
agent's instructions, its context packs files in the sandbox (agents/context.py), and its `tools`
and `budget` limits Shipyard enforces. The store keeps overrides, install-wide or per project
(`PUT /api/agents/:id/onboarding`): they replace the fields they set.
"""

from __future__ import annotations

import functools
import re
from importlib.resources import files
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from shipyard.domain.errors import InvalidInput, NotFound
from shipyard.domain.models import RequestModel

Tool = Literal["read", "edit", "run", "network"]
MAX_PACKS = 12
MAX_DOC_CHARS = 64_000
DOC_REF = re.compile(r"^onboarding/[a-z0-9][a-z0-9._-]*\.md$")
_PACK = re.compile(r"^(onboarding\.[a-z0-9][a-z0-9._-]*|recentLogs:\d{1,2}|priorPRs:\d{1,2}|adrs)$")
_PATH = re.compile(r"^[A-Za-z0-9_.*?\[\]/-][A-Za-z0-9_.*?\[\]/ -]*$")  # a repository path or glob


def check_pack(pack: str) -> str:
    """A context pack as written, checked: `onboarding.<doc>`, `recentLogs:N`, `priorPRs:N`
    (N from 1 to 20), `adrs`, or a path or glob inside the repository."""
    if _PACK.match(pack):
        count = pack.partition(":")[2]
        if count and not 1 <= int(count) <= 20:
            raise ValueError(f"context pack {pack!r}: the count must be from 1 to 20")
        return pack
    parts = pack.split("/")
    if not _PATH.match(pack) or pack.startswith("/") or ".." in parts or not pack.strip():
        raise ValueError(
            f"context pack {pack!r} is none of onboarding.<doc>, recentLogs:N, priorPRs:N, adrs,"
            " or a path or glob inside the repository"
        )
    return pack


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class RoleBudget(_Camel):
    max_turns: int | None = Field(default=None, gt=0)
    max_cost_usd: float | None = Field(default=None, gt=0)


class RoleProfile(_Camel):
    """One role, as seed 002's `Agent`: the built-in profile with the store's overrides applied."""

    type: str = Field(description="The role's id, e.g. code-reviewer.")
    name: str
    role: str = Field(description="What the agent does in a run.")
    kind: Literal["cli", "model", "hybrid"] = Field(
        description="cli: a coding-agent CLI (seed 002's Cursor roles); model: an OpenAI-compatible"
        " model (its Nemotron roles); hybrid: either."
    )
    goals: list[str]
    tools: list[Tool] = Field(
        description="What it may do: read, edit (change files), run (commands), network."
    )
    constraints: list[str]
    guardrails: list[str]
    enabled: bool = True
    onboarding_doc_ref: str | None = None
    context_packs: list[str] = Field(default_factory=list)
    budget: RoleBudget | None = None
    agent: str | None = Field(default=None, description="The agent that serves it; null: the work order's.")
    model: str | None = Field(default=None, description="The model it asks for; null: the agent's default.")

    @field_validator("context_packs")
    @classmethod
    def _packs(cls, packs: list[str]) -> list[str]:
        return [check_pack(p) for p in packs]

    def instructions(self) -> str:
        """What the agent is told before its prompt."""
        lines = [f"You are the {self.name} of this project: {self.role}", "", "Your goals:"]
        lines += [f"- {goal}" for goal in self.goals]
        lines += ["", "Constraints (your work is checked against them):"]
        lines += [f"- {rule}" for rule in self.constraints]
        lines += ["", "Guardrails:"] + [f"- {rule}" for rule in self.guardrails]
        if "edit" not in self.tools:
            lines += ["", "You may not change any file: read, run what you need, and answer."]
        return "\n".join(lines)


class RoleOverride(_Camel, RequestModel):
    """What the store may change of a profile, install-wide or for one project."""

    onboarding_doc_ref: str | None = Field(default=None, description="onboarding/<name>.md")
    context_packs: list[str] | None = Field(default=None, max_length=MAX_PACKS)
    onboarding_doc: str | None = Field(
        default=None, max_length=MAX_DOC_CHARS, description="The document's text, kept in the store."
    )
    enabled: bool | None = None
    agent: str | None = Field(default=None, min_length=1, max_length=100)
    model: str | None = Field(default=None, min_length=1, max_length=200)

    @field_validator("onboarding_doc_ref")
    @classmethod
    def _ref(cls, ref: str | None) -> str | None:
        if ref is not None and not DOC_REF.match(ref):
            raise ValueError(f"onboardingDocRef {ref!r} must name onboarding/<name>.md")
        return ref

    @field_validator("context_packs")
    @classmethod
    def _packs(cls, packs: list[str] | None) -> list[str] | None:
        return None if packs is None else [check_pack(p) for p in packs]


@functools.cache
def builtin_profiles() -> dict[str, RoleProfile]:
    """The shipped profiles, by type, in the seed's order of the files' names."""
    import yaml

    found = {}
    for entry in sorted(files("shipyard.agents").joinpath("roles").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            profile = RoleProfile.model_validate(yaml.safe_load(entry.read_text(encoding="utf-8")))
            found[profile.type] = profile
    return found


def builtin_profile(role: str) -> RoleProfile:
    """The shipped profile `role`; NotFound naming the known ones."""
    profiles = builtin_profiles()
    if role not in profiles:
        raise NotFound(f"no role '{role}'; the roles are {', '.join(profiles)}")
    return profiles[role]


def applied(profile: RoleProfile, *overrides: dict[str, Any] | None) -> RoleProfile:
    """`profile` with each override's set fields in turn (install-wide first, then the project's)."""
    fields = {}
    for override in overrides:
        for key, value in (override or {}).items():
            if value is not None and key in RoleProfile.model_fields:
                fields[key] = value
    return profile.model_copy(update=fields) if fields else profile


def stored_doc(overrides: list[dict[str, Any]]) -> str | None:
    """The onboarding document's text the store keeps among `overrides` (the project's wins)."""
    return next((o["onboarding_doc"] for o in reversed(overrides) if o.get("onboarding_doc")), None)


def builtin_doc(ref: str) -> str | None:
    """The shipped onboarding document `ref` (onboarding/<name>.md), None if there is none."""
    if not DOC_REF.match(ref):
        return None
    entry = files("shipyard.agents").joinpath("onboarding", ref.removeprefix("onboarding/"))
    return entry.read_text(encoding="utf-8") if entry.is_file() else None


def doc_ref_of_pack(pack: str) -> str:
    """The onboarding document an `onboarding.<name>` pack means."""
    return f"onboarding/{pack.removeprefix('onboarding.')}.md"


def check_role(role: str) -> None:
    """InvalidInput naming the roles when `role` is none of them."""
    if role not in builtin_profiles():
        raise InvalidInput(f"unknown role '{role}'; the roles are {', '.join(builtin_profiles())}")
