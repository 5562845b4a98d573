"""HTTP(S) credentials for git, handed over through the environment only.

`token_env` configures a credential helper with `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_n`/
`GIT_CONFIG_VALUE_n`: the token is neither in a URL nor on any command line (argv shows in `ps`),
and never reaches a config file. The helper is a shell function whose `printf` is a builtin, so
the token stays out of the argv of every process git starts.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from shipyard.domain.errors import InvalidInput

TOKEN_VARIABLE = "SHIPYARD_GIT_TOKEN"
USERNAME_VARIABLE = "SHIPYARD_GIT_USERNAME"
# Answers only `get`; `store` and `erase` are ignored. Git's request on stdin is read to the end
# so git never writes into a closed pipe.
_HELPER = (
    '!f() { while read -r _; do :; done; test "$1" = get || return 0; '
    f'printf \'username=%s\\npassword=%s\\n\' "${USERNAME_VARIABLE}" "${TOKEN_VARIABLE}"; }}; f'
)


def token_env(token: str, url: str, username: str = "x-access-token") -> dict[str, str]:
    """Environment that makes git log in to `url`'s host as `username` with `token`, unprompted.

    It replaces any `GIT_CONFIG_COUNT` entries of the surrounding environment, clears the
    credential helpers of every config file, answers only for `url`'s scheme, host and port
    (a `url.*.insteadOf` pointing elsewhere gets no token), and turns hooks off so no
    repository-controlled script runs while the token is in the environment. Empty for a
    URL that is not http(s), where a token has no use.
    """
    if "\n" in token or "\0" in token or "\n" in username or "\0" in username:
        raise InvalidInput("a git token or username must not contain a line break or NUL")
    scope = _scope(url)
    if scope is None:
        return {}
    entries = [
        ("credential.helper", ""),  # an empty value resets the list of helpers configured so far
        (f"credential.{scope}.helper", _HELPER),
        ("core.hooksPath", "/dev/null"),
    ]
    env = {"GIT_CONFIG_COUNT": str(len(entries)), TOKEN_VARIABLE: token, USERNAME_VARIABLE: username}
    for index, (key, value) in enumerate(entries):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    return env


def _scope(url: str) -> str | None:
    """`scheme://host[:port]` of an http(s) URL, without user and password; None for others."""
    parts = urlsplit(url.strip())
    try:
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:  # not a port number: git will refuse the URL on its own
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme.lower()}://{host}{port}"
