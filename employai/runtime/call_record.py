"""A call's record in the database, and whose memory the call may touch.

Every write runs on one writer thread (`DB_WRITER`), in order with every other call's writes: a database held by
another process (the CLI, a backup) waits there within SQLite's busy timeout and never stalls the event loop.
The conductor awaits a write only when it needs its result (the call's id) or its completion (the end of the call).

Caller ID is a claim: the record keeps the claimed identity, but the caller's memory is bound only once the
identity is verified (a trusted proxy, a call we placed, or the PIN; `identity.IdentityCheck`). Event loop only.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from employai.runtime.call_context import CallContext
from employai.runtime.cpu import FINISHED_TURN, URGENCY
from employai.runtime.identity import IdentityCheck
from employai.runtime.metrics import CallMetrics, NoMetrics
from memory.caller_memory import CallerMemory
from memory.transcripts import TranscriptStore, TurnTiming

log = logging.getLogger(__name__)

DB_WRITER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-writer")


def _report_write_failure(future: asyncio.Future) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("a database write failed", exc_info=future.exception())


def _nothing() -> None:
    pass


class CallRecord:
    def __init__(self, store: TranscriptStore, context: CallContext, loop: asyncio.AbstractEventLoop,
                 metrics: CallMetrics | None = None):
        self._store, self._context, self._loop = store, context, loop
        self._metrics = metrics or NoMetrics()  # each timed bot turn is reported as it is said
        self.identity = IdentityCheck(context.remote.user, context.remote.verified, store.pins)
        self.call_id: int | None = None
        self.memory = CallerMemory(None, "")  # nobody's (and no knowledge base) until the record opens

    def write(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> asyncio.Future:
        """Run a database write on the writer thread; await the future for its result. A write that embeds
        (memory) takes a CPU lane as a finished turn's work does: a call's writes never wait behind after-call work,
        and the next reply waits for them (`flush`)."""
        context = contextvars.copy_context()
        context.run(URGENCY.set, FINISHED_TURN)
        future = self._loop.run_in_executor(DB_WRITER, context.run, functools.partial(fn, *args, **kwargs))
        future.add_done_callback(_report_write_failure)
        return future

    async def flush(self) -> None:
        """Wait until every write asked for so far is done (a reply reads what the caller just told us)."""
        await asyncio.sleep(0)  # let the caller turn's own callback, due in this loop turn, queue its writes first
        await self.write(_nothing)

    async def open(self) -> int:
        ctx, identity = self._context, self.identity
        self.call_id = await self.write(self._store.start_call, ctx.direction, ctx.remote.uri, identity.user,
                                        ctx.remote.display_name, ctx.sip_call_id, claimed_user=ctx.remote.user,
                                        verified=identity.verified)
        source = ctx.transferred_from
        claim = "" if source is None or source.verified else " unverified"
        came_from = f"{ctx.referrer or source.name} <{source.uri}> ({source.header}{claim})" if source else None
        self.write(self._store.annotate_call, self.call_id, purpose=ctx.task or None, scheduled_id=ctx.scheduled_id,
                   transferred_from=came_from)
        self.memory = self._store.caller_memory(identity.user)
        return self.call_id

    def caller_said(self, text: str, timing: TurnTiming) -> None:
        """A caller's turn: recorded (a PIN redacted) and learnt from (never a PIN)."""
        kept = self.identity.redact(text)
        self.write(self._store.add_turn, self.call_id, "caller", kept, timing=timing)
        if kept == text and self.memory is not None:
            self.write(self.memory.learn_from, text, numbers=False)  # numbers: once confirmed (turn policy)

    def caller_heard(self, stt: asyncio.Future, timing: TurnTiming) -> bool:
        """A caller's turn once it is over and transcribed: recorded, unless transcription failed or heard nothing."""
        if stt.cancelled() or stt.exception() is not None or stt.result().is_empty:
            return False
        self.caller_said(stt.result().text, timing)
        log.debug("caller said", extra={"text": self.identity.redact(stt.result().text)})
        return True

    def bot_said(self, text: str, interrupted: bool, timing: TurnTiming | None = None) -> None:
        self.write(self._store.add_turn, self.call_id, "bot", text, interrupted=interrupted,
                   timing=timing or TurnTiming())
        if timing is not None:
            self._metrics.turns([timing])  # the turn's latency by stage, in /metrics at once

    def who_is_calling(self, memory: CallerMemory) -> tuple[str, list[str]]:
        """For an attended transfer's introduction: the caller's name as we know it, and what they said."""
        name = memory.known("name") or self._context.remote.display_name or "a caller"
        turns = self._store.turns(self.call_id) if self.call_id is not None else []
        return name, [t.text for t in turns if t.role == "caller"]

    def annotate(self, **values: str | int | None) -> None:
        self.write(self._store.annotate_call, self.call_id, **values)

    def verified_name(self) -> str:
        """The name we know for the caller who has just proved who they are (before their memory is bound)."""
        return self._store.caller_memory(self.identity.user).known("name")

    async def bind_verified_caller(self) -> CallerMemory:
        """The caller proved who they are: the call becomes theirs, and so does its memory."""
        await self.write(self._store.set_call_identity, self.call_id, self.identity.user, verified=True)
        self.memory = self._store.caller_memory(self.identity.user)
        return self.memory

    def forget_caller(self) -> None:
        """The caller had their memory erased on this call: nothing more is remembered of them."""
        self.memory = self._store.caller_memory("")

    async def close(self, reason: str) -> None:
        if self.call_id is not None:
            await asyncio.shield(self.write(self._store.end_call, self.call_id, reason))
