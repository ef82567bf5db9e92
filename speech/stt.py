"""Speech to text. `Transcriber` is the interface; `WhisperTranscriber` is the faster-whisper adapter.

`transcribe` is blocking and CPU-heavy: callers run it in a worker thread, never on the event loop or the media
callback. faster-whisper's segment generator is consumed here, inside that thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from .pcm import RATE, to_float32

# Whisper's stock hallucinations on noise or silence; dropped when the model itself doubts there was speech.
_HALLUCINATIONS = {"", "you", "thank you", "thanks for watching", "bye", "okay"}


@dataclass(frozen=True)
class Transcript:
    text: str
    no_speech_prob: float = 0.0

    @property
    def is_empty(self) -> bool:
        return not self.text.strip()


class Transcriber(Protocol):
    def transcribe(self, pcm: bytes) -> Transcript:
        """16 kHz mono int16 PCM in, text out."""
        ...


@dataclass(frozen=True)
class WhisperOptions:
    compute_type: str = "int8"
    cpu_threads: int = 2
    beam_size: int = 1
    language: str = "en"


class WhisperTranscriber:
    def __init__(self, model_dir: Path, options: WhisperOptions):
        self._model_dir = model_dir
        self._options = options
        self._model = None

    def load(self) -> WhisperTranscriber:
        from faster_whisper import WhisperModel

        self._model = WhisperModel(
            str(self._model_dir),
            device="cpu",
            compute_type=self._options.compute_type,
            cpu_threads=self._options.cpu_threads,
            local_files_only=True,
        )
        return self

    def transcribe(self, pcm: bytes) -> Transcript:
        if self._model is None:
            raise RuntimeError("WhisperTranscriber.load() was not called")
        audio = to_float32(pcm)
        if audio.size < RATE // 10:
            return Transcript("")
        # Whisper works on up to 30 s; a little padding helps it end the last word.
        audio = np.concatenate([audio, np.zeros(RATE // 5, dtype=np.float32)])
        segments, _info = self._model.transcribe(
            audio,
            language=self._options.language or None,
            beam_size=self._options.beam_size,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,
            temperature=0.0,
        )
        parts, no_speech = [], 0.0
        for seg in segments:  # the generator runs the model: consumed here, in the worker thread
            parts.append(seg.text)
            no_speech = max(no_speech, seg.no_speech_prob)
        text = " ".join(p.strip() for p in parts).strip()
        if no_speech > 0.6 and text.lower().strip(" .!?,") in _HALLUCINATIONS:
            text = ""
        return Transcript(text=text, no_speech_prob=no_speech)
