"""A provider from Shipyard's config for an agent CLI (`settings.agent_providers[name]`): where it
sends its model requests, its default model, and the variable that holds its key.

The key is read from the worker's environment by the name `key_env` says, and handed to the CLI
by that same name (sandboxes pass on nothing else of the worker's environment). A project secret
of that name, given to the step (`secrets: [NAME]`), reaches the CLI the same way, as every step
secret does. A CLI that reads its key only from a fixed variable also gets it under that name.
"""

from __future__ import annotations

from collections.abc import Mapping

from shipyard.config import AgentProvider, Settings


def provider_of(settings: Settings, agent: str) -> AgentProvider:
    """The provider configured for `agent`; an empty one (the CLI's own defaults) when none is."""
    return settings.agent_providers.get(agent) or AgentProvider()


def provider_key(provider: AgentProvider, environ: Mapping[str, str]) -> str | None:
    """The key in the worker's environment under the provider's `key_env`, if both are set."""
    return environ.get(provider.key_env) if provider.key_env else None


def key_env(provider: AgentProvider, environ: Mapping[str, str], *fixed_names: str) -> dict[str, str]:
    """The variables that hand the provider's key to the CLI: `key_env` and `fixed_names`."""
    key = provider_key(provider, environ)
    if key is None or provider.key_env is None:
        return {}
    return dict.fromkeys((provider.key_env, *fixed_names), key)


def missing_key(provider: AgentProvider, environ: Mapping[str, str]) -> str:
    """Why the configured provider has no key here, or "" when it has one or names none."""
    if not provider.key_env or provider_key(provider, environ):
        return ""
    return (
        f"{provider.key_env} (the key of its configured provider) is not set in the worker's "
        "environment; set it there, or give the step the project secret of that name"
    )
