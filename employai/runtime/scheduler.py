"""Scheduled outbound calls, run by the `employai run` process: places each call when it is due and inside the
calling hours, records every attempt and its outcome, and retries busy, unanswered and failed calls with
back-off up to `outbound.max_attempts`. Callbacks promised to callers (follow-up tasks) become scheduled calls.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from employai.runtime.call_context import CallContext
from employai.runtime.calling_hours import next_allowed
from employai.runtime.dial_policy import callback_uri
from employai.runtime.metrics import CallMetrics, NoMetrics
from memory.schedule import ScheduledCall, outcome_of
from memory.transcripts import TranscriptStore
from sip_config import Config

log = logging.getLogger(__name__)

TICK_S = 1.0


class PlacedCall(Protocol):
    """What the scheduler reads of a call it placed, once the call is over (the conductor)."""

    @property
    def call_id(self) -> int | None: ...  # its calls row (None: it never opened one)
    @property
    def final_status(self) -> int: ...  # the SIP status it ended with
    @property
    def end_reason(self) -> str | None: ...
    @property
    def answered(self) -> bool: ...
    @property
    def caller_turns(self) -> int: ...


# Places a call and runs it to its end; returns the conductor (None when it could not even be placed).
PlaceCall = Callable[[CallContext], Awaitable[PlacedCall | None]]


class Scheduler:
    def __init__(self, config: Config, store: TranscriptStore, place: PlaceCall, domain: str = "",
                 metrics: CallMetrics | None = None):
        self._config, self._store, self._place = config, store, place
        self._metrics = metrics or NoMetrics()
        self._domain = domain  # where callback numbers live: the registrar's domain ('' without one)
        self._running: set[asyncio.Task] = set()

    async def run(self, stop: asyncio.Event) -> None:
        recovered = self._store.schedule.recover()
        if recovered:
            log.info("scheduled calls interrupted by a restart will be retried", extra={"count": recovered})
        while not stop.is_set():
            try:
                self.tick(time.time())
            except Exception:  # a bad row must not stop the schedule
                log.exception("scheduler tick failed")
            try:
                await asyncio.wait_for(stop.wait(), TICK_S)
            except TimeoutError:
                pass
        if self._running:
            await asyncio.wait(list(self._running), timeout=10)

    def tick(self, now: float) -> None:
        if self._config.outbound.callbacks:
            self._schedule_callbacks(now)
        schedule = self._store.schedule
        for call in schedule.due(now):
            allowed = next_allowed(now, self._config.outbound)
            if allowed > now:
                schedule.postpone(call.id, allowed)
                log.info("scheduled call waits for the calling hours", extra={"scheduled_id": call.id})
                continue
            if len(self._running) >= self._config.sip.max_calls:
                return
            begun = schedule.begin_attempt(call.id)
            if begun is None:
                continue
            task = asyncio.create_task(self._attempt(call, *begun))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _attempt(self, call: ScheduledCall, attempt_id: int, attempt: int) -> None:
        log.info("placing a scheduled call", extra={"scheduled_id": call.id, "attempt": attempt})
        conductor = await self._place(CallContext.outbound(call.uri, call.task, call.id))
        if conductor is None:
            outcome, status, call_id, task_done = "failed", 0, None, None
        else:
            status, call_id = conductor.final_status, conductor.call_id
            outcome = "no_answer" if conductor.end_reason == "no_answer" else outcome_of(status, conductor.answered)
            task_done = conductor.caller_turns > 0 if conductor.answered else None
        retry_in = self._config.outbound.retry_after_s * 2 ** (attempt - 1)
        state = self._store.schedule.finish_attempt(attempt_id, outcome, status, call_id, task_done, retry_in)
        self._metrics.scheduled_attempt(outcome)
        log.info("scheduled call attempt ended", extra={"scheduled_id": call.id, "attempt": attempt,
                                                         "outcome": outcome, "sip_status": status, "state": state})

    def _schedule_callbacks(self, now: float) -> None:
        """Callbacks promised to callers become scheduled calls: only to the caller's verified number, one at a
        time per number and at most `outbound.max_callbacks_per_caller` a day; their purpose is ours, never the
        caller's words (those stay on the follow-up record, as data)."""
        followups = self._store.followups()
        outbound = self._config.outbound
        for followup in followups.pending("callback"):
            call = self._store.call_record(followup["call_id"]) if followup["call_id"] else None
            uri = None
            if call is not None and call["identity_verified"] and call["caller_user"] == followup["caller_user"]:
                uri = callback_uri(call["caller_user"], self._domain)
            if uri is None:
                followups.mark(followup["id"], "no_number")
                continue
            if self._store.schedule.pending_callbacks(uri):
                followups.mark(followup["id"], "duplicate")  # one callback to a number at a time
                continue
            if self._store.schedule.callbacks_since(uri, now - 86400) >= outbound.max_callbacks_per_caller:
                followups.mark(followup["id"], "capped")
                continue
            due = followup["due_at"] or now + outbound.retry_after_s
            self._store.schedule.add(uri, outbound.callback_text, due, outbound.max_attempts,
                                     followup_id=followup["id"])
            followups.mark(followup["id"], "scheduled")
