"""The bot's outgoing audio: a queue of 20 ms frames that the media thread drains, one per tick.

Written by the event loop (`enqueue`, `clear`), read by the PJSUA2 media thread (`next_frame`). Only
deque appends/pops and attribute stores cross threads, which the GIL makes atomic. Each enqueued piece of
speech is a `Segment` that remembers how much of it was played, so a barge-in can tell what the caller heard.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from .pcm import FRAME_MS, frame_peak, split_frames


@dataclass(eq=False)
class Segment:
    text: str
    turn_id: int
    total_frames: int
    played_frames: int = 0
    first_frame_at: float | None = None  # time.monotonic() when its first frame left
    done: bool = field(default=False)

    @property
    def heard_fraction(self) -> float:
        return self.played_frames / self.total_frames if self.total_frames else 1.0


def heard_text(segments: list[Segment]) -> str:
    """What the caller heard of these segments: whole ones, plus the played share of the words of a cut one."""
    words: list[str] = []
    for seg in segments:
        seg_words = seg.text.split()
        if seg.played_frames >= seg.total_frames:
            words.extend(seg_words)
        elif seg.played_frames > 0:
            words.extend(seg_words[: int(len(seg_words) * seg.heard_fraction)])
            break
        else:
            break
    return " ".join(words)


class Playout:
    def __init__(self, echo_tail_ms: int = 400):
        self._frames: deque[tuple[bytes, int, Segment]] = deque()
        self._recent_peaks: deque[int] = deque(maxlen=max(1, echo_tail_ms // FRAME_MS))
        self.segments: list[Segment] = []
        self.held = False  # a prepared reply waits, queued, until the caller's turn is confirmed over

    def enqueue(self, pcm: bytes, text: str, turn_id: int) -> Segment:
        frames = split_frames(pcm)
        segment = Segment(text=text, turn_id=turn_id, total_frames=len(frames))
        self.segments.append(segment)
        self._frames.extend((f, frame_peak(f), segment) for f in frames)
        return segment

    @property
    def speaking(self) -> bool:
        return bool(self._frames) and not self.held

    def recent_peak(self) -> int:
        """The loudest frame sent within the echo tail: what an echo of the bot could be as loud as."""
        return max(self._recent_peaks, default=0)

    def next_frame(self) -> bytes | None:
        """Called on the media thread every 20 ms; None means silence."""
        if self.held:
            self._recent_peaks.append(0)
            return None
        try:
            frame, peak, segment = self._frames.popleft()
        except IndexError:
            self._recent_peaks.append(0)
            return None
        if segment.played_frames == 0:
            segment.first_frame_at = time.monotonic()
        segment.played_frames += 1
        if segment.played_frames >= segment.total_frames:
            segment.done = True
        self._recent_peaks.append(peak)
        return frame

    def clear(self) -> list[Segment]:
        """Stop talking now. Returns the segments that were queued or playing, with what was played of each."""
        self._frames.clear()
        segments, self.segments = self.segments, []
        for seg in segments:
            seg.done = True
        return segments
