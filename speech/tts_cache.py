"""Remember synthesised sentences: a phone employee says the same lines (greeting, facts, prompts) all day.

Wraps any `Synthesizer`; thread-safe, bounded (least recently used lines are dropped first).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable

from .tts import Synthesizer


class CachedSynthesizer:
    def __init__(self, inner: Synthesizer, max_lines: int = 256):
        self._inner = inner
        self._max_lines = max_lines
        self._lines: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def synthesize(self, text: str) -> bytes:
        key = " ".join(text.split())
        with self._lock:
            if key in self._lines:
                self._lines.move_to_end(key)
                return self._lines[key]
        pcm = self._inner.synthesize(key)
        with self._lock:
            self._lines[key] = pcm
            while len(self._lines) > self._max_lines:
                self._lines.popitem(last=False)
        return pcm

    def prewarm(self, texts: Iterable[str]) -> None:
        for text in texts:
            self.synthesize(text)
