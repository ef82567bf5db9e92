"""The caller's audio on its way from the SIP media thread to the conductor: a bounded queue with an end marker.

`put` and `end` run on the event loop (the media thread hands frames over with `call_soon_threadsafe`); `get`
is awaited by the conductor. A loop that falls behind loses the oldest audio, never the end of the call.
"""

from __future__ import annotations

import asyncio

INBOUND_FRAMES = 250  # 5 s of caller audio waiting for the event loop; older frames are dropped beyond that

Frame = tuple[bytes, float]  # 20 ms of PCM and the monotonic time it arrived


class InboundFrames:
    def __init__(self, size: int = INBOUND_FRAMES):
        self._queue: asyncio.Queue[Frame | None] = asyncio.Queue(size)
        self.dropped = 0
        self.ended = False

    def qsize(self) -> int:
        return self._queue.qsize()

    def put(self, frame: Frame) -> None:
        if not self.ended:  # a last frame after the end: the end marker stays the last item
            self._push(frame)

    def end(self) -> None:
        if not self.ended:
            self.ended = True
            self._push(None)  # never lost: the oldest frame makes room for it

    async def get(self) -> Frame | None:
        """The next frame, or None once the call has ended."""
        return await self._queue.get()

    def _push(self, item: Frame | None) -> None:
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(item)
