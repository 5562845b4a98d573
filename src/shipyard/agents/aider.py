"""The `aider` agent: aider (PyPI `aider-chat`) on one message (`aider --message-file`).

Aider edits files itself, in the text of the model's answers (whole files or search/replace
blocks); Shipyard commits, not aider (`--no-auto-commits --no-dirty-commits`). It cannot run the
model's shell commands unattended (`--yes-always` answers no to them, so the model is told not to
suggest any); a test command the operator sets (`AIDER_TEST_CMD` with `AIDER_AUTO_TEST=true`) runs
after each edit, and its failures go back to the model. It keeps no session to resume.

Its provider is litellm's: `--model openai/M` with OPENAI_API_KEY and `settings.openai_base_url`
for any OpenAI-compatible endpoint, or another provider's model with its key. `AIDER_*` variables
in the worker's environment reach it as its options (e.g. AIDER_MODEL_METADATA_FILE, the prices
and context window of a model litellm does not know); the adapter's own flags win over them.
"""

from __future__ import annotations

from shipyard.agents._aider_stream import AiderStream
from shipyard.agents._classify import failure
from shipyard.agents._cli import CliAgent
from shipyard.agents._util import (
    RedactingSink,
    cli_availability,
    exec_until_finished,
    redact_result,
)
from shipyard.domain.events import EventSink
from shipyard.domain.models import AgentRequest, AgentResult, Availability
from shipyard.sandboxes.base import Workspace

_NOT_FOUND = "aider not installed (shipyard agents install aider)"
_PASSTHROUGH_PREFIX = "AIDER_"
# Unattended: yes to its questions, plain output, nothing fetched or offered from the network, no
# commits, no edits to .gitignore, its history files outside the repository. Its two logs go to
# stderr, where the adapter reads them (see _aider_stream).
_FLAGS = (
    "--yes-always", "--no-stream", "--no-pretty", "--no-fancy-input", "--no-check-update",
    "--no-show-release-notes", "--no-analytics", "--no-show-model-warnings", "--no-detect-urls",
    "--no-suggest-shell-commands", "--no-auto-commits", "--no-dirty-commits", "--no-gitignore",
    "--analytics-log", "/dev/stderr", "--llm-history-file", "/dev/stderr",
    "--chat-history-file", "/dev/null", "--input-history-file", "/dev/null",
)  # fmt: skip
# Runs in the workspace: the prompt (stdin) into a file for --message-file (an argument has a
# size limit and shows in `ps`), aider with stdin closed, then away with the cache of its repo map
# if the run made it (the one file it still writes into the repository), so that it is not committed.
_WRAPPER = """
prompt=$(mktemp) && cat > "$prompt" || exit 70
kept=$(ls -1d .aider.tags.cache.v* 2>/dev/null)
"$@" --message-file "$prompt" </dev/null
code=$?
rm -f "$prompt"
for made in .aider.tags.cache.v*; do
  [ -e "$made" ] && ! printf '%s\\n' "$kept" | grep -qxF -- "$made" && rm -rf -- "$made"
done
exit $code
"""
# Its console is as wide as the lines it prints (rich wraps at 80 columns without a terminal); a
# URL it offers to open (after a rejected key) goes to `true`, not to a browser that could block.
_CONSOLE_ENV = {"COLUMNS": "10000", "BROWSER": "true"}


class AiderAgent(CliAgent):
    """Runs `aider --message-file` on the prompt, saying yes to its questions (`--yes-always`)."""

    name = "aider"
    description = "aider on one message (aider --message-file), edits in its answers' text."

    def check(self) -> Availability:
        """Binary present and runnable; `no credentials` without a provider's key."""
        why = "" if self._keys() else "set OPENAI_API_KEY, ANTHROPIC_API_KEY or GEMINI_API_KEY"
        return cli_availability(self.binary(), _NOT_FOUND, missing_credentials=why)

    def command(self, binary: str, request: AgentRequest) -> list[str]:
        """The argv of one run, but for the message, which the wrapper adds."""
        argv = [binary, *_FLAGS, "--openai-api-base", self._settings.openai_base_url]
        model = request.model or self._settings.aider_model
        if model:
            argv += ["--model", model]  # litellm's provider/model
        return argv

    def env(self) -> dict[str, str]:
        """The AIDER_* variables of the worker's environment and the provider keys in settings."""
        env = {k: v for k, v in self._environ.items() if k.startswith(_PASSTHROUGH_PREFIX)}
        return {**env, **self._keys(), **_CONSOLE_ENV}

    def _keys(self) -> dict[str, str]:
        keys = {
            "OPENAI_API_KEY": self._settings.openai_api_key,
            "ANTHROPIC_API_KEY": self._settings.anthropic_api_key,
            "GEMINI_API_KEY": self._settings.gemini_api_key,
        }
        return {name: key.get_secret_value() for name, key in keys.items() if key}

    async def run(self, request: AgentRequest, workspace: Workspace, events: EventSink) -> AgentResult:
        """Run aider on the prompt; success is every model request answered and the message done."""
        binary = self.binary()
        if binary is None:
            return failure(_NOT_FOUND, kind="unavailable", retryable=False)
        env = self.env()
        # Keys may come in AIDER_* variables too (AIDER_OPENAI_API_KEY, AIDER_API_KEY).
        secrets = [part for k, v in env.items() if k.endswith("KEY") for part in (v, v.partition("=")[2])]
        events = RedactingSink(events, secrets)
        stream = AiderStream(events, max_retries=self._settings.aider_max_retries)
        argv = ["bash", "-c", _WRAPPER, "aider", *self.command(binary, request)]
        try:
            done = await exec_until_finished(
                workspace,
                argv,
                stream.finished,
                self._exit_grace_s,
                timeout_s=request.timeout_s,
                env=env,
                stdin=request.prompt,
                on_line=stream.on_line,
                given_up=stream.given_up,
            )
        except OSError as err:
            return failure(f"cannot start bash for aider: {err}", kind="unavailable", retryable=False)
        outcome = stream.outcome(done, request.timeout_s)
        await events.emit("agent.usage", {**outcome.usage.model_dump(mode="json"), "final": True})
        return redact_result(outcome, secrets)
