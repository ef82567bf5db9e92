"""Text to speech. `Synthesizer` is the interface; `PiperSynthesizer` is the Piper adapter.

Output is always 16 kHz mono int16 PCM, peak-normalised to a telephone level, whatever the voice's own rate.
`synthesize` is blocking: run it in a worker thread.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from .pcm import RATE, normalize_peak, resample

if TYPE_CHECKING:
    from piper import PiperVoice, SynthesisConfig

OUTPUT_PEAK = 0.5  # -6 dBFS: loud enough on a phone, with headroom for G.711


class Synthesizer(Protocol):
    def synthesize(self, text: str) -> bytes:
        """Text in, 16 kHz mono int16 PCM out."""
        ...


class PiperSynthesizer:
    def __init__(self, voice_path: Path, length_scale: float = 1.0, threads: int = 2, variation: float = 1.0):
        self._voice_path = voice_path
        self._length_scale = length_scale
        self._variation = variation  # scales the voice's noise; 0 makes every rendition of a text the same
        self._threads = threads
        self._voice: PiperVoice | None = None
        self._syn_config: SynthesisConfig | None = None

    def load(self) -> PiperSynthesizer:
        import onnxruntime
        from piper import PiperVoice, SynthesisConfig
        from piper.config import PiperConfig

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        config = json.loads(Path(f"{self._voice_path}.json").read_text(encoding="utf-8"))
        voice_config = PiperConfig.from_dict(config)
        self._voice = PiperVoice(
            config=voice_config,
            session=onnxruntime.InferenceSession(
                str(self._voice_path), sess_options=options, providers=["CPUExecutionProvider"]
            ),
        )
        self._syn_config = SynthesisConfig(length_scale=self._length_scale,
                                           noise_scale=voice_config.noise_scale * self._variation,
                                           noise_w_scale=voice_config.noise_w_scale * self._variation)
        return self

    def synthesize(self, text: str) -> bytes:
        if self._voice is None:
            raise RuntimeError("PiperSynthesizer.load() was not called")
        chunks = [
            resample(chunk.audio_int16_array, chunk.sample_rate, RATE)
            for chunk in self._voice.synthesize(text, syn_config=self._syn_config)
        ]
        if not chunks:
            return b""
        audio = np.concatenate(chunks).astype(np.int16)
        return normalize_peak(audio, OUTPUT_PEAK).tobytes()
