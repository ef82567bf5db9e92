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
    window_s: int = 12  # encoder window for short utterances; 30 is Whisper's own (slower, a little more accurate)


def _max_tokens(seconds: float) -> int:
    """A bound on the words in `seconds` of speech: stops a short window looping on a phrase."""
    return min(224, int(seconds * 7) + 12)


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
        # A little padding helps Whisper end the last word.
        audio = np.concatenate([audio, np.zeros(RATE // 5, dtype=np.float32)])
        if audio.size <= self._options.window_s * RATE and self._options.window_s < 30:
            return self._transcribe_window(audio)
        return self._transcribe_long(audio)

    def _transcribe_window(self, audio: np.ndarray) -> Transcript:
        """One utterance through a short encoder window: the encoder's cost is its window, not the speech.

        faster-whisper always pads to 30 s; CTranslate2's Whisper encodes any window up to that, so a
        telephone turn of a few seconds is encoded several times faster here, with the same model.
        """
        import ctranslate2
        from faster_whisper.tokenizer import Tokenizer

        model = self._model
        frames = self._options.window_s * 100
        padded = np.zeros(frames * 160, dtype=np.float32)
        padded[: audio.size] = audio
        features = model.feature_extractor(padded)[:, :frames]
        tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe",
                              language=self._options.language or "en")
        encoded = model.model.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None])))
        result = model.model.generate(
            encoded, [list(tokenizer.sot_sequence) + [tokenizer.no_timestamps]],
            beam_size=self._options.beam_size, max_length=_max_tokens(audio.size / RATE), suppress_blank=True,
            suppress_tokens=[-1], return_no_speech_prob=True,
        )[0]
        text = tokenizer.decode([t for t in result.sequences_ids[0] if t < tokenizer.eot]).strip()
        return self._filtered(text, result.no_speech_prob)

    def _transcribe_long(self, audio: np.ndarray) -> Transcript:
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
        return self._filtered(" ".join(p.strip() for p in parts).strip(), no_speech)

    @staticmethod
    def _filtered(text: str, no_speech: float) -> Transcript:
        if no_speech > 0.6 and text.lower().strip(" .!?,") in _HALLUCINATIONS:
            text = ""
        return Transcript(text=text, no_speech_prob=no_speech)
