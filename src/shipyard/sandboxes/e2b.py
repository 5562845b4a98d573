"""A sandbox in an E2B cloud sandbox (a microVM per work order), through the E2B SDK.

The repository is cloned inside the E2B sandbox with the work order's git token (then dropped
from its git config), and every command runs there with its output streamed. Shipyard's own git
work (step commits, progress, diff, push) stays on a clone on the worker's disk, as with
`git_branch`; git bundles moved through the SDK's file API keep the two level:

- before a command, the commits made here since the last look (Shipyard's step commits) go in,
  and the sandbox's branch moves to them;
- after it, the sandbox's working tree comes back as a snapshot commit on top of its HEAD (with
  any commits the agent made there), and the local clone takes both.

The sandbox is made from SHIPYARD_E2B_TEMPLATE with SHIPYARD_E2B_API_KEY (or E2B_API_KEY), its id
kept on the work order, and killed with the work order (or by E2B after SHIPYARD_E2B_TIMEOUT_S).
It can reach the internet (it clones from there), so `network: false` cannot keep its commands off
it; it cannot reach this machine. Tested against a fake of the SDK, not the real service.
"""

from __future__ import annotations

import asyncio
import shlex
import time
from collections.abc import Mapping, Sequence
from importlib.metadata import version
from pathlib import Path

from e2b import (
    AsyncSandbox,
    AuthenticationException,
    CommandExitException,
    SandboxException,
    SandboxQuery,
)

from shipyard.config import Settings
from shipyard.domain.errors import SandboxError
from shipyard.domain.models import REMOTE_ID, Availability, ExecResult, SandboxHandle, SandboxSpec
from shipyard.gitutil import clone_source, git, head_sha, strip_credentials, token_env
from shipyard.sandboxes.base import LineCallback
from shipyard.sandboxes.git_branch import GitBranchSandbox
from shipyard.sandboxes.lines import Lines

HOME = "/home/user"
REPO = f"{HOME}/repo"  # the working tree inside the E2B sandbox
METADATA_KEY = "shipyard_work_order_id"
MADE_BY = {"made_by": "shipyard"}  # metadata on every sandbox Shipyard makes, to list them by
SEEN_REF = "refs/shipyard/sandbox-head"  # in the local clone: the sandbox's HEAD when last level
_IDENTITY = "-c user.name=Shipyard -c user.email=shipyard@localhost"
_CLONE_TIMEOUT_S = 3600

# Inside the sandbox, from $HOME: clone, forget the credentials, start where the local clone is.
_CLONE = """set -e
rm -rf repo
git clone --quiet "$SHIPYARD_CLONE_URL" repo
cd repo
git remote set-url origin "$SHIPYARD_ORIGIN"
git checkout --quiet --no-track -b "$SHIPYARD_BRANCH" "$SHIPYARD_HEAD"
"""
# Inside the sandbox, from the working tree: take the commits the local clone sent.
_TAKE = """set -e
git fetch --quiet .git/shipyard-in.bundle "+$SHIPYARD_REF:refs/shipyard/incoming"
git reset --quiet "$SHIPYARD_HEAD"
rm -f .git/shipyard-in.bundle
"""
# Inside the sandbox: the working tree as a commit on HEAD (a scratch index leaves the real one
# alone), bundled with whatever the local clone has not seen; prints HEAD and the snapshot.
_SNAPSHOT = f"""set -e
export GIT_INDEX_FILE=.git/shipyard-snapshot-index
cp .git/index "$GIT_INDEX_FILE" 2>/dev/null || rm -f "$GIT_INDEX_FILE"
git add --all
tree=$(git write-tree)
rm -f "$GIT_INDEX_FILE"
head=$(git rev-parse HEAD)
snap=$(git {_IDENTITY} commit-tree "$tree" -p "$head" -m "shipyard: working tree snapshot")
git update-ref refs/shipyard/snapshot "$snap"
git bundle create --quiet .git/shipyard-out.bundle refs/shipyard/snapshot "^$SHIPYARD_SEEN"
echo "$head $snap"
"""


def _key(settings: Settings) -> str:
    key = settings.e2b_api_key
    if key is None:
        raise SandboxError("the e2b sandbox needs an E2B API key: set SHIPYARD_E2B_API_KEY or E2B_API_KEY")
    return key.get_secret_value()


def _failed(what: str, err: Exception) -> SandboxError:
    return SandboxError(f"E2B: {what}: {err}")


async def _script(sandbox: AsyncSandbox, script: str, cwd: str, envs: dict[str, str], what: str) -> str:
    """Run one of Shipyard's own scripts inside the sandbox; its stdout, or SandboxError."""
    try:
        done = await sandbox.commands.run(script, envs=envs, cwd=cwd, timeout=_CLONE_TIMEOUT_S)
    except CommandExitException as err:
        raise SandboxError(f"E2B: {what} failed (exit code {err.exit_code}): {err.stderr.strip()}") from None
    except SandboxException as err:
        raise _failed(what, err) from None
    return done.stdout


class E2BWorkspace:
    """Runs each command in the work order's E2B sandbox, keeping the local clone level with it."""

    def __init__(self, settings: Settings, handle: SandboxHandle, env: Mapping[str, str] | None) -> None:
        self._settings, self._handle = settings, handle
        self._env = dict(env or {})
        self._sandbox: AsyncSandbox | None = None

    @property
    def path(self) -> Path:
        return Path(self._handle.path)

    async def exec(
        self,
        command: str | Sequence[str],
        *,
        timeout_s: float | None = None,
        env: Mapping[str, str] | None = None,
        stdin: str | None = None,
        on_line: LineCallback | None = None,
    ) -> ExecResult:
        sandbox = await self._connect()
        seen = await self._send_commits(sandbox)
        script = command if isinstance(command, str) else shlex.join(command)
        if stdin is not None:  # the command reads it from a file handed over first
            name = f".git/shipyard-stdin-{time.monotonic_ns()}"
            await sandbox.files.write(f"{REPO}/{name}", stdin)
            script = f"trap 'rm -f {name}' EXIT\n( {script}\n) < {name}"
        started = time.monotonic()
        lines = Lines(on_line)
        code, timed_out = await self._run(sandbox, script, {**self._env, **(env or {})}, timeout_s, lines)
        await lines.close()
        await self._take_changes(sandbox, seen)
        return ExecResult(
            exit_code=code, stdout=lines.text("stdout"), stderr=lines.text("stderr"),
            duration_s=time.monotonic() - started, timed_out=timed_out,
        )  # fmt: skip

    async def _run(
        self, sandbox: AsyncSandbox, script: str, envs: dict[str, str], timeout_s: float | None, lines: Lines
    ) -> tuple[int, bool]:
        """Run `script` in the background (so it can be killed), wait for it; (exit code, timed out)."""

        async def out(chunk: str) -> None:
            await lines.feed("stdout", chunk)

        async def err(chunk: str) -> None:
            await lines.feed("stderr", chunk)

        try:
            running = await sandbox.commands.run(
                script, background=True, envs=envs, cwd=REPO, on_stdout=out, on_stderr=err, timeout=0
            )
        except SandboxException as error:
            raise _failed("cannot start the command", error) from None
        try:
            async with asyncio.timeout(timeout_s):
                return (await running.wait()).exit_code, False
        except CommandExitException as exited:
            return exited.exit_code, False
        except TimeoutError:
            await running.kill()
            return -1, True
        except BaseException:  # cancelled: the command must not outlive the step
            await asyncio.shield(running.kill())
            raise

    async def _connect(self) -> AsyncSandbox:
        if self._sandbox is None:
            sandbox_id = self._handle.extra.get(REMOTE_ID)
            if not isinstance(sandbox_id, str):
                raise SandboxError(f"work order {self._handle.work_order_id} has no E2B sandbox id")
            try:
                self._sandbox = await AsyncSandbox.connect(
                    sandbox_id, timeout=self._settings.e2b_timeout_s, api_key=_key(self._settings)
                )
            except (SandboxException, AuthenticationException) as err:
                raise _failed(f"cannot reach sandbox {sandbox_id}", err) from None
        return self._sandbox

    async def _send_commits(self, sandbox: AsyncSandbox) -> str:
        """Commits made here since the sandbox was last level with us go in; its branch moves
        there. Returns the sandbox's HEAD now."""
        local = self.path
        head = await head_sha(local)
        seen = (await git("rev-parse", SEEN_REF, cwd=local)).strip()
        if head == seen:
            return head
        bundle = local / ".git" / "shipyard-out.bundle"
        ref = f"refs/heads/{self._handle.branch}"
        await git("bundle", "create", "--quiet", str(bundle), ref, f"^{seen}", cwd=local)
        await sandbox.files.write(f"{REPO}/.git/shipyard-in.bundle", bundle.read_bytes())
        bundle.unlink()
        envs = {"SHIPYARD_REF": ref, "SHIPYARD_HEAD": head}
        await _script(sandbox, _TAKE, REPO, envs, "taking Shipyard's commits")
        await git("update-ref", SEEN_REF, head, cwd=local)
        return head

    async def _take_changes(self, sandbox: AsyncSandbox, seen: str) -> None:
        """The sandbox's HEAD and working tree (it was at `seen` before) become the local clone's."""
        local = self.path
        printed = await _script(sandbox, _SNAPSHOT, REPO, {"SHIPYARD_SEEN": seen}, "snapshotting the work")
        head, snapshot = printed.split()
        try:
            data = await sandbox.files.read(f"{REPO}/.git/shipyard-out.bundle", format="bytes")
        except SandboxException as err:
            raise _failed("cannot read the snapshot", err) from None
        bundle = local / ".git" / "shipyard-in.bundle"
        bundle.write_bytes(bytes(data))
        await git(
            "fetch", "--quiet", str(bundle), "+refs/shipyard/snapshot:refs/shipyard/snapshot", cwd=local
        )
        bundle.unlink()
        await git("reset", "--quiet", "--hard", snapshot, cwd=local)
        await git("clean", "--quiet", "--force", "-d", cwd=local)  # what the sandbox deleted
        # The branch where the sandbox's is, the rest of its work uncommitted, as it is there.
        await git("reset", "--quiet", head, cwd=local)
        await git("update-ref", SEEN_REF, head, cwd=local)


class E2BSandbox:
    """A `git_branch` clone here, its twin in an E2B sandbox where the commands run."""

    name = "e2b"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._clone = GitBranchSandbox(settings)

    async def setup(self, spec: SandboxSpec) -> SandboxHandle:
        """Clone here, start an E2B sandbox, clone there at the same commit."""
        key = _key(self._settings)  # no key: say so before cloning anything
        handle = await self._clone.setup(spec)
        local = Path(handle.path)
        try:
            sandbox = await AsyncSandbox.create(
                template=self._settings.e2b_template, timeout=self._settings.e2b_timeout_s,
                metadata={**MADE_BY, METADATA_KEY: spec.work_order_id}, api_key=key,
            )  # fmt: skip
        except (SandboxException, AuthenticationException) as err:
            await self._clone.cleanup(handle)
            raise _failed(
                f"cannot create a sandbox from template {self._settings.e2b_template!r}", err
            ) from None
        try:
            head = await head_sha(local)
            source = clone_source(spec.repository_url)
            token = spec.git_token.get_secret_value() if spec.git_token else None
            envs = {
                "SHIPYARD_CLONE_URL": source, "SHIPYARD_ORIGIN": strip_credentials(source),
                "SHIPYARD_BRANCH": spec.branch, "SHIPYARD_HEAD": head,
                **(token_env(token, source) if token else {}),
            }  # fmt: skip
            await _script(sandbox, _CLONE, HOME, envs, "cloning the repository")
            await git("update-ref", SEEN_REF, head, cwd=local)
        except BaseException:
            await asyncio.shield(self.kill(sandbox.sandbox_id))
            await self._clone.cleanup(handle)
            raise
        return handle.model_copy(update={"sandbox_type": self.name, "extra": {REMOTE_ID: sandbox.sandbox_id}})

    def workspace(
        self, handle: SandboxHandle, network: bool = False, env: Mapping[str, str] | None = None
    ) -> E2BWorkspace:
        """A workspace running commands in the E2B sandbox (which always has the internet)."""
        return E2BWorkspace(self._settings, handle, env)

    async def cleanup(self, handle: SandboxHandle) -> None:
        """Kill the E2B sandbox, then delete the local clone. Safe to call twice."""
        sandbox_id = handle.extra.get(REMOTE_ID)
        if isinstance(sandbox_id, str):
            await self.kill(sandbox_id)
        await self._clone.cleanup(handle)

    async def kill(self, sandbox_id: str) -> None:
        """Kill the E2B sandbox `sandbox_id`; nothing if it has gone already."""
        try:
            await AsyncSandbox.kill(sandbox_id, api_key=_key(self._settings))  # False: already gone
        except (SandboxException, AuthenticationException) as err:
            raise _failed(f"cannot kill sandbox {sandbox_id}", err) from None

    async def running(self) -> list[tuple[str, str]]:
        """(work order id, sandbox id) of every E2B sandbox Shipyard made on this account."""
        found: list[tuple[str, str]] = []
        try:
            pages = AsyncSandbox.list(query=SandboxQuery(metadata=MADE_BY), api_key=_key(self._settings))
            while pages.has_next:
                for info in await pages.next_items():
                    found.append((info.metadata.get(METADATA_KEY, ""), info.sandbox_id))
        except (SandboxException, AuthenticationException) as err:
            raise _failed("cannot list sandboxes", err) from None
        return found

    @staticmethod
    def check(settings: Settings) -> Availability:
        """Whether an API key is set (the service itself is not called)."""
        if settings.e2b_api_key is None:
            return Availability(available=False, reason="set SHIPYARD_E2B_API_KEY or E2B_API_KEY")
        return Availability(available=True, version=f"e2b SDK {version('e2b')}")
