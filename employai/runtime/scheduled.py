"""The engines behind the CPU lanes (`cpu.CpuLanes`): each job of model work waits for a lane first.

Each wrapper has the interface of the engine it wraps (`PromptedTranscriber`, `Synthesizer`, `Embedder`), so the rest of
the bot cannot tell them apart; the model client takes `token_step` for each token it computes. They run in
worker threads, and read the urgency of the work from `cpu.URGENCY` (the turn that asked for it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np

from memory.embeddings import Embedder
from speech.stt import PromptedTranscriber, Transcript
from speech.tts import Synthesizer

from .cpu import CpuLanes, current_level

T = TypeVar("T")


class ScheduledTranscriber:
    def __init__(self, inner: PromptedTranscriber, lanes: CpuLanes):
        self.inner, self._lanes = inner, lanes

    def transcribe(self, pcm: bytes, expect: str = "") -> Transcript:
        return self._lanes.run(current_level("transcript"), lambda: self.inner.transcribe(pcm, expect))

    @property
    def prompt(self) -> str:
        return self.inner.prompt

    def set_prompt(self, prompt: str) -> None:
        self.inner.set_prompt(prompt)


class ScheduledSynthesizer:
    def __init__(self, inner: Synthesizer, lanes: CpuLanes):
        self.inner, self._lanes = inner, lanes

    def synthesize(self, text: str) -> bytes:
        return self._lanes.run(current_level("audio"), lambda: self.inner.synthesize(text))


class ScheduledEmbedder:
    def __init__(self, inner: Embedder, lanes: CpuLanes):
        self.inner, self._lanes = inner, lanes

    def embed(self, texts: list[str]) -> np.ndarray:
        return self._lanes.run(current_level("tokens"), lambda: self.inner.embed(texts))


def token_step(lanes: CpuLanes) -> Callable[[Callable[[], T]], T]:
    """For the model client: compute one token in a lane, at the urgency of the turn that asked for it."""
    def step(fn: Callable[[], T]) -> T:
        return lanes.run(current_level("tokens"), fn)
    return step
