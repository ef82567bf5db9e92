"""Transfers out of a call: blind (REFER, then follow the NOTIFYs) and attended (call the colleague on a second
call, introduce the caller, then join the two with REFER/Replaces).

The conductor decides *whether* to transfer (only to directory entries, see `brain.switchboard`); this module
only carries a transfer out and reports how it went.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Future

from speech.playout import Playout
from telephony import CallControl, SipError

log = logging.getLogger(__name__)

REPLACED_LEG_GRACE_S = 5.0

Dial = Callable[[str, "ColleagueLeg"], Awaitable[CallControl]]


class ColleagueLeg:
    """CallEvents for the second call of an attended transfer: the bot talks, the colleague listens."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._loop = loop
        self.playout = Playout()
        self.answered = asyncio.Event()
        self.ended = asyncio.Event()
        self.status = 0

    def on_audio_frame(self, pcm: bytes) -> None:
        pass  # the colleague's side is not listened to

    def next_audio_frame(self) -> bytes | None:
        return self.playout.next_frame()

    def on_answered(self) -> None:
        self._loop.call_soon_threadsafe(self.answered.set)

    def on_dtmf(self, digit: str) -> None:
        pass

    def on_transfer_status(self, status: int, reason: str, final: bool) -> None:
        pass

    def on_ended(self, reason: str, status: int) -> None:
        self.status = status
        self._loop.call_soon_threadsafe(self.ended.set)


class Transfers:
    """One per call. `on_status` is fed from the call's NOTIFYs (SIP thread)."""

    def __init__(self, handle: CallControl, loop: asyncio.AbstractEventLoop, notify_timeout_s: float):
        self._handle = handle
        self._loop = loop
        self._timeout = notify_timeout_s
        self._result: asyncio.Future[int] | None = None

    def on_status(self, status: int, reason: str, final: bool) -> None:
        """SIP thread: a NOTIFY (or the REFER's own failure)."""
        log.debug("transfer status", extra={"status": status, "final": final})
        if final or status >= 300:
            self._loop.call_soon_threadsafe(self._settle, status)

    def _settle(self, status: int) -> None:
        if self._result is not None and not self._result.done():
            self._result.set_result(status)

    async def _refer(self, send: Callable[[], Future[None]]) -> int:
        """Send a REFER and wait for its final outcome: the status of the transferee's call (200 joined)."""
        self._result = self._loop.create_future()
        try:
            await asyncio.wrap_future(send())
            return await asyncio.wait_for(self._result, self._timeout)
        except SipError:
            return 481  # the call ended before the REFER could go
        except TimeoutError:
            return 408
        finally:
            self._result = None

    async def blind(self, uri: str) -> int:
        return await self._refer(lambda: self._handle.transfer(uri))

    async def attended(self, uri: str, dial: Dial, introduce: Callable[[Playout], Awaitable[None]],
                       ring_s: float) -> tuple[str, int]:
        """Call `uri`, let `introduce` speak to the colleague, then join the caller to them.

        Returns ('joined' | 'no_answer' | 'failed', SIP status)."""
        leg = ColleagueLeg(self._loop)
        try:
            colleague = await dial(uri, leg)
        except SipError:
            return "failed", 0
        try:
            return await self._introduce_and_join(leg, colleague, introduce, ring_s)
        except asyncio.CancelledError:
            # The caller left (or the call is ending) mid-transfer: the colleague's leg must not stay up.
            if not leg.ended.is_set():
                colleague.hangup()
            raise

    async def _introduce_and_join(self, leg: ColleagueLeg, colleague: CallControl,
                                  introduce: Callable[[Playout], Awaitable[None]], ring_s: float) -> tuple[str, int]:
        answered = asyncio.ensure_future(leg.answered.wait())
        ended = asyncio.ensure_future(leg.ended.wait())
        try:
            await asyncio.wait([answered, ended], timeout=ring_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            answered.cancel()
            ended.cancel()
        if not leg.answered.is_set():
            colleague.hangup()
            return "no_answer", leg.status or 408
        await introduce(leg.playout)
        if leg.ended.is_set():
            return "no_answer", leg.status
        status = await self._refer(lambda: self._handle.transfer_replacing(colleague))
        if not 200 <= status < 300:
            colleague.hangup()
            return "failed", status
        # The caller's INVITE with Replaces takes our leg's place at the colleague's phone, which then hangs it
        # up; a phone that does not is hung up on after a grace period.
        self._loop.call_later(REPLACED_LEG_GRACE_S, lambda: None if leg.ended.is_set() else colleague.hangup())
        return "joined", status
