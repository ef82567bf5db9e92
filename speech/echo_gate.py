"""Keep the bot's own echo from counting as the caller speaking (a Geigel-style double-talk test).

An echo of the bot is quieter than the bot by the echo return loss. While the bot talks (and for the echo tail
after), caller audio counts as speech only if its recent peak beats `ratio` times the bot's recent peak.
"""

from __future__ import annotations

from collections import deque

from .pcm import frame_peak


class EchoGate:
    def __init__(self, ratio: float, window_frames: int = 3):
        self._ratio = ratio
        self._recent: deque[int] = deque(maxlen=window_frames)

    def passes(self, frame: bytes, far_end_peak: int) -> bool:
        """`far_end_peak`: the loudest frame the bot sent within the echo tail."""
        self._recent.append(frame_peak(frame))
        return far_end_peak == 0 or max(self._recent) > self._ratio * far_end_peak
