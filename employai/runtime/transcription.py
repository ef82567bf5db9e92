"""A call's transcriptions: Whisper in a worker thread, one at a time per call.

A transcription that is no longer wanted (the caller went on talking) is cancelled for its waiters at once, but
still holds the call's turn until its thread is done: a caller cannot pile up work for the shared CPU, however
often they pause and resume. Event loop only.
"""

from __future__ import annotations

import asyncio

from speech.stt import Transcriber, Transcript


class CallTranscriber:
    def __init__(self, transcriber: Transcriber, loop: asyncio.AbstractEventLoop):
        self._transcriber, self._loop = transcriber, loop
        self._one_at_a_time = asyncio.Lock()

    def start(self, pcm: bytes, expect: str = "") -> asyncio.Future:
        """The transcript of `pcm`, as a future (cancel it when it is no longer wanted). `expect`: what the bot
        has just asked for (see `speech.stt.EXPECTATIONS`)."""
        return asyncio.ensure_future(self._transcribe(pcm, expect))

    async def _transcribe(self, pcm: bytes, expect: str) -> Transcript:
        async with self._one_at_a_time:
            job = self._loop.run_in_executor(None, self._transcriber.transcribe, pcm, expect)
            try:
                return await asyncio.shield(job)
            except asyncio.CancelledError:
                await asyncio.gather(job, return_exceptions=True)
                raise
