"""Speak a stream of reply text: cut it into sentences, synthesise each off the event loop, queue the audio.

Used for every bot turn (greeting, replies, prompts). Records when the first text piece and the first audio
were ready; the playout records when the first frame left.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from speech.playout import Playout, Segment, heard_text
from speech.sentences import SentenceChunker
from speech.tts import Synthesizer

from .cpu import Level


@dataclass
class SpokenTurn:
    turn_id: int
    segments: list[Segment] = field(default_factory=list)
    speculative: bool = False  # prepared during a pause; plays only once the caller's turn is over
    caller_text: str = ""  # what this turn answers
    carried: list[str] = field(default_factory=list)  # earlier caller words, left unanswered, it answers too
    checkpoint: Any = None  # the turn policy's state before this reply (restored if it is dropped unheard)
    answer: Any = None  # the turn policy's answer this turn speaks (what it does once heard)
    transcript_ready: float | None = None  # time.monotonic()
    first_token: float | None = None
    first_audio: float | None = None
    complete: bool = False  # every piece of text was queued for playout

    def level(self, stage: str) -> Level:
        """How urgent this turn's model work is now (`cpu.Urgency`): its first audio and first tokens come
        first, the rest of it after; while it is only prepared during a pause, after every call's real turns."""
        if self.speculative:
            return Level.SPECULATIVE
        if self.first_audio is not None or stage == "transcript":
            return Level.TRANSCRIPT
        return Level.FIRST_AUDIO if stage == "audio" else Level.FIRST_TOKENS

    @property
    def first_frame(self) -> float | None:
        return self.segments[0].first_frame_at if self.segments else None

    @property
    def played_out(self) -> bool:
        return all(s.done for s in self.segments)

    def text(self) -> str:
        return " ".join(s.text for s in self.segments)

    def heard(self) -> str:
        return heard_text(self.segments)


class Speaker:
    def __init__(self, synthesizer: Synthesizer, playout: Playout, max_sentences: int):
        self._synthesizer = synthesizer
        self._playout = playout
        self._max_sentences = max_sentences

    async def speak(self, pieces: AsyncIterator[str], turn: SpokenTurn, whole: bool = False) -> None:
        """Queue the audio of `pieces` as it becomes ready: up to the sentence limit (a model's reply), or `whole`
        (a line written in code, which may end in the question it asks)."""
        limit = 1_000 if whole else self._max_sentences
        chunker = SentenceChunker()
        try:
            async for piece in pieces:
                if turn.first_token is None:
                    turn.first_token = time.monotonic()
                for sentence in chunker.push(piece):
                    await self._say(sentence, turn)
                if len(turn.segments) >= limit:
                    break
        finally:
            if isinstance(pieces, AsyncGenerator):  # left early: its `finally` runs now, not when collected
                await pieces.aclose()
        if len(turn.segments) < limit:
            for sentence in chunker.flush():
                await self._say(sentence, turn)
        turn.complete = True

    async def say_pcm(self, pcm: bytes, text: str, turn: SpokenTurn) -> None:
        """Queue audio that is already synthesised (canned lines)."""
        now = time.monotonic()
        turn.first_token = turn.first_token or now
        turn.first_audio = turn.first_audio or now
        turn.segments.append(self._playout.enqueue(pcm, text, turn.turn_id))
        turn.complete = True

    async def _say(self, sentence: str, turn: SpokenTurn) -> None:
        pcm = await asyncio.to_thread(self._synthesizer.synthesize, sentence)
        if not pcm:
            return
        if turn.first_audio is None:
            turn.first_audio = time.monotonic()
        turn.segments.append(self._playout.enqueue(pcm, sentence, turn.turn_id))

    async def wait_played(self, turn: SpokenTurn) -> None:
        # The media thread drains the playout on its 20 ms clock; checking on the same clock is simplest.
        while not turn.played_out:  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def once(text: str) -> AsyncIterator[str]:
    """A fixed line as a stream of one piece."""
    yield text
