"""Housekeeping of a running bot: every `memory.housekeeping_minutes`, what the start does once, again.

A bot that runs for weeks must keep applying `memory.retention_days` (the store's records, and the recordings'
files), and, when several bots share one PostgreSQL database, must delete its recordings of a caller forgotten
through another bot (whose call records that bot anonymised) without waiting for its own restart. One task on the
event loop waits out the interval (or the bot's `stop`) and runs a sweep on a worker thread, never on the loop:

- `TranscriptStore.prune` by retention (it logs its own counts);
- `prune_recordings` by retention, and `forget_erased` with one look-up for all the files
  (`TranscriptStore.anonymised_calls`), when `[recording]` is on;
- whatever else the start does once and a long run must keep doing (`also`): the speech-to-text prompt is built
  again when the knowledge base changed (`business_prompt.BusinessPrompt.refresh`).

A sweep that fails (the database server away for a moment) is logged and tried again at the next interval. Only
counts are logged, never a caller, a number or a call's words.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Protocol

from employai.runtime.recording import forget_erased, prune_recordings
from sip_config import Config

log = logging.getLogger(__name__)


class Store(Protocol):
    """What a sweep needs of the store (`memory.transcripts.TranscriptStore`)."""

    def prune(self, retention_days: float) -> int: ...

    def anonymised_calls(self, call_ids: Iterable[int]) -> set[int]: ...


class Housekeeping:
    """The sweep and its timer. `recordings`: the recordings' folder, None when `[recording]` is off. `sleep` is
    the timer (tests give a virtual one)."""

    def __init__(self, store: Store, retention_days: float, interval_s: float, recordings: Path | None = None,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
                 also: Sequence[Callable[[], object]] = ()):
        if interval_s <= 0:
            raise ValueError("the housekeeping interval must be positive")
        self._store, self._retention_days, self._recordings = store, retention_days, recordings
        self._also = tuple(also)
        self.interval_s = interval_s
        self._sleep = sleep
        self.sweeps = 0  # sweeps finished, failed ones included

    @classmethod
    def of_bot(cls, config: Config, store: Store, recordings: Path | None,
               also: Sequence[Callable[[], object]] = ()) -> Housekeeping:
        """The bot's: every `memory.housekeeping_minutes`, retention by `memory.retention_days`."""
        return cls(store, config.memory.retention_days, config.memory.housekeeping_minutes * 60, recordings,
                   also=also)

    def sweep(self) -> dict[str, int]:
        """One round (blocking: a worker thread); what it removed, counted."""
        try:
            done = {"turns_pruned": self._store.prune(self._retention_days)}
            if self._recordings is not None:
                done["recordings_expired"] = prune_recordings(self._recordings, self._retention_days)
                done["recordings_of_forgotten_callers"] = forget_erased(self._recordings,
                                                                        self._store.anonymised_calls)
            if done.get("recordings_expired") or done.get("recordings_of_forgotten_callers"):
                log.info("housekeeping deleted recordings", extra=done)
        finally:
            for task in self._also:  # each on its own, whatever else failed
                try:
                    task()
                except Exception:
                    log.exception("a housekeeping task failed; it runs again at the next interval")
        return done

    async def run(self, stop: asyncio.Event) -> None:
        """Sweep every interval until `stop` is set (also while a sweep runs: the loop ends after it)."""
        while not await self._wait(stop):
            try:
                await asyncio.to_thread(self.sweep)
            except Exception:
                log.exception("housekeeping failed; it runs again at the next interval")
            self.sweeps += 1

    async def _wait(self, stop: asyncio.Event) -> bool:
        """The interval, or less when `stop` is set during it; whether the bot is stopping."""
        if stop.is_set():
            return True
        timer = asyncio.ensure_future(self._sleep(self.interval_s))
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({timer, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (timer, stopping):
                task.cancel()
        return stop.is_set()
