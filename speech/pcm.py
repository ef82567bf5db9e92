"""PCM helpers: the one audio format inside the bot is 16 kHz mono signed 16-bit, in 20 ms frames."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

RATE = 16000
FRAME_MS = 20
FRAME_SAMPLES = RATE * FRAME_MS // 1000
FRAME_BYTES = FRAME_SAMPLES * 2
SILENCE_FRAME = bytes(FRAME_BYTES)


def to_int16(samples: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1] to int16, clipped."""
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16)


def to_float32(pcm: bytes | np.ndarray) -> np.ndarray:
    data = np.frombuffer(pcm, dtype=np.int16) if isinstance(pcm, bytes | bytearray) else pcm
    return data.astype(np.float32) / 32768.0


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample int16 or float32 mono audio (soxr, high quality)."""
    if from_rate == to_rate:
        return samples
    import soxr

    return soxr.resample(samples, from_rate, to_rate, quality="HQ")


def frame_peak(frame: bytes) -> int:
    if not frame:
        return 0
    return int(np.abs(np.frombuffer(frame, dtype=np.int16).astype(np.int32)).max())


def split_frames(pcm: bytes) -> list[bytes]:
    """20 ms frames; the last one is padded with silence."""
    frames = [pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm), FRAME_BYTES)]
    if frames and len(frames[-1]) < FRAME_BYTES:
        frames[-1] = frames[-1] + bytes(FRAME_BYTES - len(frames[-1]))
    return frames


def normalize_peak(samples: np.ndarray, peak: float) -> np.ndarray:
    """Scale int16 audio so its peak is `peak` (a fraction of full scale)."""
    current = float(np.abs(samples.astype(np.int32)).max()) if samples.size else 0.0
    if current < 1.0:
        return samples
    return np.clip(samples.astype(np.float32) * (peak * 32767.0 / current), -32768, 32767).astype(np.int16)


def read_wav(path: str | Path, rate: int = RATE) -> np.ndarray:
    """An audio file as mono int16 at `rate`: 16-bit WAV directly, other formats (FLAC, MP3...) through PyAV."""
    if Path(path).suffix.lower() != ".wav":
        from faster_whisper.audio import decode_audio

        return to_int16(decode_audio(str(path), sampling_rate=rate))
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: only 16-bit PCM WAV is supported")
        data = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
        channels, file_rate = w.getnchannels(), w.getframerate()
    if channels > 1:
        data = data.reshape(-1, channels).mean(axis=1).astype(np.int16)
    return resample(data, file_rate, rate).astype(np.int16)


def write_wav(path: str | Path, samples: np.ndarray | bytes, rate: int = RATE) -> None:
    data = samples if isinstance(samples, bytes | bytearray) else samples.astype(np.int16).tobytes()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(data)
