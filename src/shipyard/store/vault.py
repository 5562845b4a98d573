"""Project secrets encrypted at rest (Fernet: AES-128-CBC with HMAC-SHA256) with
SHIPYARD_SECRETS_KEY (`key`), decrypted only inside the activity that hands them to a step."""

from __future__ import annotations

from collections.abc import Iterable

from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr

from shipyard.domain.errors import Conflict, InvalidInput
from shipyard.store.store import Store

NO_KEY = (
    "project secrets need SHIPYARD_SECRETS_KEY, the key they are encrypted with; make one with "
    "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"
)


def _fernet(key: SecretStr | None) -> Fernet:
    if key is None:
        raise Conflict(NO_KEY)
    try:
        return Fernet(key.get_secret_value().encode())
    except ValueError:
        raise Conflict(
            f"SHIPYARD_SECRETS_KEY is not a Fernet key (32 url-safe base64 bytes); {NO_KEY}"
        ) from None


async def store_secret(key: SecretStr | None, store: Store, project_id: str, name: str, value: str) -> None:
    """Encrypt and keep `value` as the project's secret `name`."""
    if not value:
        raise InvalidInput(f"secret '{name}' needs a value")
    await store.set_secret(project_id, name, _fernet(key).encrypt(value.encode()).decode())


async def reveal_secrets(
    key: SecretStr | None, store: Store, project_id: str | None, names: Iterable[str]
) -> dict[str, str]:
    """The values of the project's secrets `names`; InvalidInput naming any it does not have."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    if project_id is None:
        raise InvalidInput(
            f"the workflow asks for secrets ({', '.join(wanted)}) but the work order has no project"
        )
    stored = await store.secret_ciphertexts(project_id, wanted)
    missing = [name for name in wanted if name not in stored]
    if missing:
        raise InvalidInput(f"project {project_id} has no secret {', '.join(missing)}; set it first")
    fernet = _fernet(key)
    try:
        return {name: fernet.decrypt(stored[name].encode()).decode() for name in wanted}
    except InvalidToken:
        raise Conflict(
            "a project secret cannot be decrypted: SHIPYARD_SECRETS_KEY is not the key it was stored with"
        ) from None
