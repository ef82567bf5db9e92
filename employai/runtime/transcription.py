"""A call's transcriptions: Whisper in a worker thread, one at a time per call.

A transcription that is no longer wanted (the caller went on talking) is cancelled for its waiters at once, but
still holds the call's turn until its thread is done: a caller cannot pile up work for the shared CPU, however
often they pause and resume. Event loop only.
"""

from __future__ import annotations

import asyncio
import contextvars

from speech.stt import Transcriber, Transcript

from .cpu import FINISHED_TURN, URGENCY, Urgency


class CallTranscriber:
    def __init__(self, transcriber: Transcriber, loop: asyncio.AbstractEventLoop):
        self._transcriber, self._loop = transcriber, loop
        self._one_at_a_time = asyncio.Lock()

    def start(self, pcm: bytes, expect: str = "", urgency: Urgency = FINISHED_TURN) -> asyncio.Future:
        """The transcript of `pcm`, as a future (cancel it when it is no longer wanted). `expect`: what the bot
        has just asked for (see `speech.stt.EXPECTATIONS`); `urgency`: for the CPU lanes (see `cpu`)."""
        return asyncio.ensure_future(self._transcribe(pcm, expect, urgency))

    async def _transcribe(self, pcm: bytes, expect: str, urgency: Urgency) -> Transcript:
        async with self._one_at_a_time:
            context = contextvars.copy_context()
            context.run(URGENCY.set, urgency)
            job = self._loop.run_in_executor(None, context.run, self._transcriber.transcribe, pcm, expect)
            try:
                return await asyncio.shield(job)
            except asyncio.CancelledError:
                await asyncio.gather(job, return_exceptions=True)
                raise
