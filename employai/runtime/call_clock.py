"""A call's clock: a silent caller is prompted, then the call is ended; no call outlasts its time limit.

A collaborator of the conductor: it asks whether the call is busy (someone speaking, a reply in progress) and tells
the conductor what to do through two callbacks. Event loop only; the clock is `time.monotonic` unless a test gives
its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

from sip_config.schema import CallSettings

TICK_S = 0.25


class CallClock:
    def __init__(self, settings: CallSettings, busy: Callable[[], bool], prompt: Callable[[], None],
                 end: Callable[[str, str], Awaitable[None]], now: Callable[[], float] = time.monotonic):
        """`prompt()`: ask a silent caller if they are still there; `end(line, reason)`: say a last line, hang up."""
        self._settings = settings
        self._busy, self._prompt, self._end, self._now = busy, prompt, end, now
        self._last_activity = now()
        self._prompted = False

    def activity(self, caller: bool = False) -> None:
        """Something happened on the call (the caller spoke: the silence prompt may be said again)."""
        self._last_activity = self._now()
        if caller:
            self._prompted = False

    async def run(self, ended: asyncio.Event) -> None:
        s = self._settings
        started = self._now()
        while not ended.is_set():
            await asyncio.sleep(TICK_S)
            now = self._now()
            if now - started > s.max_duration_s:
                return await self._end("max_duration", "max_duration")
            if self._busy():
                self._last_activity = now
                continue
            idle = now - self._last_activity
            if idle > s.silence_hangup_s:
                return await self._end("goodbye", "silence")
            if idle > s.silence_prompt_s and not self._prompted:
                self._prompted = True
                self._prompt()


async def until_answered(answered: asyncio.Event, ended: asyncio.Event, ring_s: float,
                         give_up: Callable[[], None]) -> bool:
    """Wait while the call rings: True once it is answered, False if it ends or rings for `ring_s` first.

    A call that rang too long is given up (`give_up`: CANCEL, for a call we placed) and its end awaited (5 s)."""
    waits = [asyncio.ensure_future(answered.wait()), asyncio.ensure_future(ended.wait())]
    await asyncio.wait(waits, timeout=ring_s, return_when=asyncio.FIRST_COMPLETED)
    for wait in waits:
        wait.cancel()
    if answered.is_set() and not ended.is_set():
        return True
    if not ended.is_set():
        give_up()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ended.wait(), 5)
    return False
