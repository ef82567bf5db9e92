"""A PJSUA2 conference-bridge port that hands 20 ms frames to Python and takes them back.

Both callbacks run on the PJSUA2 media clock thread every 20 ms: they only copy bytes to and from the
`FrameEndpoint` given to them, which must be just as quick (a deque append or pop).
"""

from __future__ import annotations

from typing import Protocol

import pjsua2 as pj

from speech.pcm import FRAME_MS, RATE


class FrameEndpoint(Protocol):
    def on_audio_frame(self, pcm: bytes) -> None:
        """20 ms of 16 kHz int16 audio from the far end. Media thread: return at once."""

    def next_audio_frame(self) -> bytes | None:
        """20 ms of 16 kHz int16 audio to send, or None for silence. Media thread: return at once."""


def audio_format() -> pj.MediaFormatAudio:
    fmt = pj.MediaFormatAudio()
    fmt.init(pj.PJMEDIA_FORMAT_PCM, RATE, 1, FRAME_MS * 1000, 16)
    return fmt


class FramePort(pj.AudioMediaPort):
    def __init__(self, endpoint: FrameEndpoint):
        super().__init__()
        self._endpoint = endpoint

    def onFrameReceived(self, frame: pj.MediaFrame) -> None:  # noqa: N802 (PJSUA2 name)
        if frame.type == pj.PJMEDIA_FRAME_TYPE_AUDIO and frame.size:
            self._endpoint.on_audio_frame(bytes(frame.buf))

    def onFrameRequested(self, frame: pj.MediaFrame) -> None:  # noqa: N802 (PJSUA2 name)
        pcm = self._endpoint.next_audio_frame()
        if pcm is None:
            frame.type = pj.PJMEDIA_FRAME_TYPE_NONE
            return
        frame.type = pj.PJMEDIA_FRAME_TYPE_AUDIO
        frame.buf = pj.ByteVector(pcm)
        frame.size = len(pcm)
