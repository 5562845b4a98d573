"""The chat beside an idea run (seed 002, milestone 11): what people write is on the run's
timeline (`chat.message` events); a slash command steers the run through IdeaService and the
system answers; plain text goes to the running agent as a follow-up prompt. The agent's answer
to such a prompt (the follow-up step's output) is read back into the chat."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import Field

from shipyard.api.deps import ServiceDep
from shipyard.domain.errors import InvalidInput, NotFound, ShipyardError
from shipyard.domain.ideas import IssueStatus
from shipyard.domain.jsontext import MAX_SQL_INT32
from shipyard.domain.models import PromptRequest, RequestModel, StepStatus
from shipyard.ideas.models import RunInterrupt, _Camel
from shipyard.ideas.routes import RunId
from shipyard.ideas.service import IdeaService
from shipyard.store.records import IdeaRunRecord, RunEventRecord

Author = Literal["person", "system", "agent"]
CHAT = "chat.message"  # the run event a message is
FOLLOW_UP = "prompt-"  # the work order's steps that answer prompts sent to it (engine/workflows.py)
MAX_TEXT = 20_000
# Each command, what it takes and what it does (as /help and a refusal list them).
COMMANDS = {
    "pause": ("[reason]", "hold the run before its next work order"),
    "resume": ("", "let a paused run go on"),
    "cancel": ("[reason]", "stop the running work order and end the run"),
    "retry": ("<node>", "run a failed or cancelled run again from that issue"),
    "advance": ("", "let a held run go on when no open defect blocks it"),
    "status": ("", "where the run is and what runs now"),
    "help": ("", "these commands"),
}
_INTERRUPTS = {  # what the system says once the run took the interrupt
    "pause": "Paused: the run holds before its next work order.",
    "resume": "Resumed: the run goes on.",
    "cancel": "Cancel requested: the running work order is being stopped and the run ends.",
}
_NODE = re.compile(r"^#?(\d{1,10})$")


class ChatSend(RequestModel, _Camel):
    """`POST /api/runs/:runId/chat`."""

    text: str = Field(min_length=1, max_length=MAX_TEXT, description="A /command, or text for the agent.")


class ChatMessage(_Camel):
    id: int | None = Field(description="Its event on the run's timeline; null for an agent's answer.")
    author: Author
    text: str
    level: str  # info, or warning for a command that was refused
    ts: datetime
    work_order_id: str | None = None  # the work order the text was sent to (system), or that answered


class ChatMessages(_Camel):
    messages: list[ChatMessage]


@dataclass(frozen=True)
class Command:
    name: str
    arg: str = ""


def parse(text: str) -> Command | None:
    """The slash command `text` is (None for plain text); InvalidInput for one there is none of,
    or a missing or malformed argument."""
    if not text.startswith("/"):
        return None
    name, _, arg = text[1:].partition(" ")
    name, arg = name.strip().lower(), " ".join(arg.split())
    if name not in COMMANDS:
        raise InvalidInput(f"unknown command /{name}; commands: {command_list()}")
    node = _NODE.match(arg)
    if name == "retry" and (node is None or int(node[1]) > MAX_SQL_INT32):
        raise InvalidInput("/retry needs the issue to run again from: /retry <node>, e.g. /retry 12")
    if arg and not COMMANDS[name][0]:
        raise InvalidInput(f"/{name} takes nothing after it")
    return Command(name, node[1] if name == "retry" and node else arg)


def command_usage() -> list[tuple[str, str]]:
    """Each command as it is written (`/retry <node>`) and what it does."""
    return [(f"/{name} {arg}".rstrip(), what) for name, (arg, what) in COMMANDS.items()]


def command_list() -> str:
    return ", ".join(usage for usage, _ in command_usage())


def _message(event: RunEventRecord) -> ChatMessage:
    author = event.data.get("author")
    return ChatMessage(
        id=event.id, author=author if author in ("person", "system", "agent") else "system",
        text=str(event.data.get("text") or event.msg), level=event.level, ts=event.ts,
        work_order_id=event.data.get("work_order_id"),
    )  # fmt: skip


class ChatService:
    """Over IdeaService: it steers the run; the work-order service takes the prompts."""

    def __init__(self, ideas: IdeaService) -> None:
        self.ideas = ideas
        self.store = ideas.store

    async def history(self, run_id: str) -> list[ChatMessage]:
        """The run's chat in order: people's and the system's messages, and the agents' answers."""
        run = await self.store.get_run(run_id)
        events = [e for e in await self.store.list_run_events(run.id, limit=100_000) if e.type == CHAT]
        said = [_message(e) for e in events]
        prompted = {m.work_order_id for m in said if m.author == "system" and m.work_order_id}
        answers = [m for wo in sorted(prompted) for m in await self._answers(wo)]
        return sorted(said + answers, key=lambda m: m.ts)

    async def _answers(self, work_order_id: str) -> list[ChatMessage]:
        """What the agent said to the prompts a work order was sent: its follow-up steps' outputs."""
        answers = []
        for step in await self.store.list_steps(work_order_id):
            if not step.step_id.startswith(FOLLOW_UP) or step.completed_at is None:
                continue
            ok = step.status == StepStatus.COMPLETED
            text = step.output or step.error or f"({step.status.value})"
            answers.append(
                ChatMessage(
                    id=None,
                    author="agent",
                    text=text,
                    level="info" if ok else "warning",
                    ts=step.completed_at,
                    work_order_id=work_order_id,
                )
            )
        return answers

    async def send(self, run_id: str, req: ChatSend) -> list[ChatMessage]:
        """The person's message and the system's answer, both on the run's timeline. A command the
        run refuses is answered with the reason; InvalidInput (before anything is recorded) for
        text that is no command at all."""
        text = req.text.strip()
        if not text:
            raise InvalidInput("text: write a message or a /command")
        command = parse(text)
        run = await self.store.get_run(run_id)
        person = await self._say(run.id, "person", text)
        work_order_id = None
        if command is None:
            answer, level, work_order_id = await self._prompt(run, text)
        else:
            try:
                answer, level = await self._command(run, command), "info"
            except ShipyardError as err:
                answer, level = f"/{command.name} refused: {err.message}", "warning"
        system = await self._say(run.id, "system", answer, level=level, work_order_id=work_order_id)
        return [person, system]

    async def _say(
        self, run_id: str, author: Author, text: str, level: str = "info", work_order_id: str | None = None
    ) -> ChatMessage:
        run = await self.store.get_run(run_id)
        data = {"author": author, "text": text} | ({"work_order_id": work_order_id} if work_order_id else {})
        short = " ".join(text.split())
        event = await self.store.add_run_event(
            run.id, CHAT, phase=run.state.value, msg=f"{author}: {short[:200]}", level=level, data=data
        )
        return _message(event)

    async def _command(self, run: IdeaRunRecord, command: Command) -> str:
        """Do what the command says; what the system answers."""
        name = command.name
        if name in _INTERRUPTS:
            interrupt = RunInterrupt.model_validate({"action": name, "reason": command.arg or None})
            await self.ideas.interrupt(run.id, interrupt)
            return _INTERRUPTS[name]
        if name == "retry":
            issue = await self.store.get_issue(int(command.arg))
            await self.ideas.retry(run.id, issue.id)
            return f"Retrying from {issue.type.value} #{issue.id} ({issue.title}): what is done stays done."
        if name == "advance":
            await self.ideas.advance(run.id)
            return "Advanced: nothing blocks the run; it goes on."
        if name == "status":
            return await self._status(run)
        return "Commands: " + "; ".join(f"{usage}: {what}" for usage, what in command_usage())

    async def _status(self, run: IdeaRunRecord) -> str:
        """The run's state, whether it is held, its current issue and work order, issues done."""
        said = f"The run is {run.state.value}"
        if run.paused and not run.state.is_terminal:
            said += f", paused ({run.interrupt_reason or 'paused'})"
        said += "."
        issues = await self.store.list_issues(run.id)
        current = next((i for i in issues if i.id == run.current_issue_id), None)
        if current is not None:
            said += f" Now: {current.type.value} #{current.id} ({current.title}), {current.status.value}"
            working = await self._working(run)
            said += f", work order {working[0]} running." if working else "."
        if issues:
            done = sum(i.status == IssueStatus.DONE for i in issues)
            said += f" {done} of {len(issues)} issues done."
        if run.error:
            said += f" Error: {run.error}"
        return said

    async def _working(self, run: IdeaRunRecord) -> tuple[str, str] | None:
        """The work order the run started last and what it does, if it has not ended."""
        if run.state.is_terminal:
            return None
        events = await self.store.list_run_events(run.id, limit=100_000)
        started = [e for e in events if e.type == "workflow.step.started" and e.data.get("work_order_id")]
        if not started:
            return None
        last = started[-1]
        work_order_id = str(last.data["work_order_id"])
        try:
            wo = await self.store.get_work_order(work_order_id)
        except NotFound:
            return None
        return None if wo.status.is_terminal else (work_order_id, last.msg.partition(":")[0])

    async def _prompt(self, run: IdeaRunRecord, text: str) -> tuple[str, str, str | None]:
        """Send the text to the running work order's agent: the answer, its level, the work order."""
        working = await self._working(run)
        if working is None:
            where = "it has ended" if run.state.is_terminal else "it is between work orders"
            return f"No agent is running now ({where}): nothing got the message.", "warning", None
        work_order_id, what = working
        try:
            wo = await self.store.get_work_order(work_order_id)
            await self.ideas.service.prompt(wo, PromptRequest(prompt_text=text))
        except ShipyardError as err:
            return f"Not sent to work order {work_order_id}: {err.message}", "warning", None
        said = f"Sent to work order {work_order_id} ({what}): the agent gets it when its current step ends."
        return said, "info", work_order_id


router = APIRouter(prefix="/api", tags=["ideas"])


async def get_chat(service: ServiceDep) -> ChatService:
    return ChatService(IdeaService(service))


ChatDep = Annotated[ChatService, Depends(get_chat)]


@router.get("/runs/{run_id}/chat")
async def get_chat_history(run_id: RunId, chat: ChatDep) -> ChatMessages:
    """The run's chat in order: people's messages, the system's answers, the agents' answers to
    the prompts people sent them."""
    return ChatMessages(messages=await chat.history(run_id))


@router.post("/runs/{run_id}/chat", status_code=201)
async def send_chat(run_id: RunId, req: ChatSend, chat: ChatDep) -> ChatMessages:
    """A message to the run: `/pause [reason]`, `/resume`, `/cancel [reason]`, `/retry <node>`,
    `/advance`, `/status`, `/help`; other text goes to the running agent as a follow-up prompt.
    Answers with the message and the system's reply (a command the run refuses is replied to
    with the reason); 422 for an unknown command or a missing argument."""
    return ChatMessages(messages=await chat.send(run_id, req))
