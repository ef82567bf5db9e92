"""Voice-activity segmentation: 20 ms frames in, utterance events out.

`VoiceActivity` is the seam (is this 20 ms frame speech?); `VoiceDetector` implements it with webrtcvad, and a test
fake may implement it too. `UtteranceSegmenter` is a pure state machine over (frame, voiced) pairs, so it
can be tested without audio: speech starts after a run of voiced frames (with pre-roll kept), an early
`SpeechPaused` lets transcription begin before the turn is over, and `TurnEnded` fires after the end-of-turn
silence, or when the utterance reaches its maximum length (a caller, or a noise, that never pauses still gets a
turn, and no utterance buffer grows without bound).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Protocol

from .pcm import FRAME_MS, RATE


class VoiceActivity(Protocol):
    """Decides whether one 20 ms frame of 16-bit mono PCM at `RATE` is speech."""

    def is_speech(self, frame: bytes) -> bool: ...


class VoiceDetector:
    """`VoiceActivity` by webrtcvad; `aggressiveness` 0 (lenient) to 3 (strict)."""

    def __init__(self, aggressiveness: int):
        import webrtcvad

        self._vad = webrtcvad.Vad(aggressiveness)

    def is_speech(self, frame: bytes) -> bool:
        return self._vad.is_speech(frame, RATE)


@dataclass(frozen=True)
class SpeechStarted:
    at: float


@dataclass(frozen=True)
class SpeechPaused:
    pcm: bytes
    speech_end: float


@dataclass(frozen=True)
class SpeechResumed:
    at: float


@dataclass(frozen=True)
class TurnEnded:
    pcm: bytes
    speech_end: float


VadEvent = SpeechStarted | SpeechPaused | SpeechResumed | TurnEnded


class UtteranceSegmenter:
    def __init__(self, preroll_ms: int, min_speech_ms: int, early_silence_ms: int, end_silence_ms: int,
                 max_utterance_ms: int = 30_000):
        self._max_frames = max(1, max_utterance_ms // FRAME_MS)  # a longer utterance is cut: its turn ends there
        self._preroll: deque[bytes] = deque(maxlen=max(1, preroll_ms // FRAME_MS))
        self.min_speech_frames = max(1, min_speech_ms // FRAME_MS)
        self._early_frames = max(1, early_silence_ms // FRAME_MS)
        self._end_frames = max(1, end_silence_ms // FRAME_MS)
        self._voiced_run: list[bytes] = []
        self._voiced_count = 0
        self._gap = False
        self._utterance: list[bytes] | None = None
        self._silence = 0
        self._last_voiced_end = 0.0
        self._paused = False

    @property
    def in_speech(self) -> bool:
        return self._utterance is not None

    def push(self, frame: bytes, voiced: bool, t: float) -> list[VadEvent]:
        """Feed one frame that started at time `t` (seconds)."""
        if self._utterance is None:
            return self._push_idle(frame, voiced, t)
        return self._push_speech(frame, voiced, t)

    def _push_idle(self, frame: bytes, voiced: bool, t: float) -> list[VadEvent]:
        if not voiced:
            if self._voiced_run and not self._gap:  # one unvoiced frame inside a run is tolerated
                self._gap = True
                self._voiced_run.append(frame)
                return []
            self._preroll.extend(self._voiced_run)
            self._voiced_run = []
            self._voiced_count = 0
            self._gap = False
            self._preroll.append(frame)
            return []
        self._gap = False
        self._voiced_run.append(frame)
        self._voiced_count += 1
        if self._voiced_count < self.min_speech_frames:
            return []
        self._utterance = list(self._preroll) + self._voiced_run
        self._preroll.clear()
        start = t - (len(self._voiced_run) - 1) * FRAME_MS / 1000
        self._voiced_run = []
        self._voiced_count = 0
        self._silence = 0
        self._paused = False
        self._last_voiced_end = t + FRAME_MS / 1000
        return [SpeechStarted(at=start)]

    def _push_speech(self, frame: bytes, voiced: bool, t: float) -> list[VadEvent]:
        assert self._utterance is not None
        self._utterance.append(frame)
        if len(self._utterance) >= self._max_frames:  # never-ending speech (or noise): end the turn here
            event = TurnEnded(pcm=b"".join(self._utterance), speech_end=t + FRAME_MS / 1000)
            self.reset()
            return [event]
        if voiced:
            self._silence = 0
            self._last_voiced_end = t + FRAME_MS / 1000
            if self._paused:
                self._paused = False
                return [SpeechResumed(at=t)]
            return []
        self._silence += 1
        if self._silence == self._early_frames and self._early_frames < self._end_frames:
            self._paused = True
            return [SpeechPaused(pcm=self._speech_pcm(), speech_end=self._last_voiced_end)]
        if self._silence >= self._end_frames:
            event = TurnEnded(pcm=self._speech_pcm(), speech_end=self._last_voiced_end)
            self.reset()
            return [event]
        return []

    def _speech_pcm(self) -> bytes:
        """The utterance with the same trailing silence at the early pause and at the turn's end."""
        assert self._utterance is not None
        keep = len(self._utterance) - self._silence + min(self._silence, self._early_frames)
        return b"".join(self._utterance[:keep])

    def reset(self) -> None:
        self._utterance = None
        self._voiced_run = []
        self._voiced_count = 0
        self._gap = False
        self._silence = 0
        self._paused = False
