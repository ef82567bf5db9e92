"""A PJSUA2 conference-bridge port that hands 20 ms frames to Python and takes them back.

Both callbacks run on the PJSUA2 media clock thread every 20 ms: they only copy bytes to and from the
`FrameEndpoint` given to them, which must be just as quick (a deque append or pop).

The port is created, connected and released on the `sip-agent` thread. `release` deletes the C++ port while
the Python object is still whole: PJSUA2's destructor takes the port's lock (waiting for a callback in
progress) and unhooks the callbacks, so none can reach Python afterwards. Leaving the object to Python's
deallocation instead clears its attributes first and lets the media thread call into a half-destroyed object
(the `'FramePort' object has no attribute '_endpoint'` seen under load). The class-level defaults below keep a
callback harmless even then.
"""

from __future__ import annotations

import logging
from typing import Protocol

import pjsua2 as pj

from speech.pcm import FRAME_MS, RATE

log = logging.getLogger(__name__)


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
    _endpoint: FrameEndpoint | None = None  # class defaults: a callback on a port being torn down is silent
    _failed = False
    released = False

    def __init__(self, endpoint: FrameEndpoint):
        super().__init__()
        self._endpoint = endpoint

    def connect(self, call_audio: pj.AudioMedia) -> None:
        """SIP thread: audio both ways between this port and a call's audio stream."""
        call_audio.startTransmit(self)
        self.startTransmit(call_audio)

    def release(self, call_audio: pj.AudioMedia | None = None) -> None:
        """SIP thread: stop transmitting, silence the callbacks, and free the C++ port. The object is dead after
        this: drop every reference to it."""
        if self.released:
            return
        self._endpoint = None
        if call_audio is not None:
            for source, sink in ((call_audio, self), (self, call_audio)):
                try:
                    source.stopTransmit(sink)
                except pj.Error:
                    pass  # the call's stream is already gone
        self.released = True
        pj.AudioMediaPort.__swig_destroy__(self)  # waits for a callback in progress; none can start after

    def onFrameReceived(self, frame: pj.MediaFrame) -> None:  # noqa: N802 (PJSUA2 name)
        endpoint = self._endpoint
        if endpoint is None or frame.type != pj.PJMEDIA_FRAME_TYPE_AUDIO or not frame.size:
            return
        try:
            endpoint.on_audio_frame(bytes(frame.buf))
        except Exception:
            self._fail()

    def onFrameRequested(self, frame: pj.MediaFrame) -> None:  # noqa: N802 (PJSUA2 name)
        endpoint = self._endpoint
        pcm = None
        if endpoint is not None:
            try:
                pcm = endpoint.next_audio_frame()
            except Exception:
                self._fail()
        if pcm is None:
            frame.type = pj.PJMEDIA_FRAME_TYPE_NONE
            return
        frame.type = pj.PJMEDIA_FRAME_TYPE_AUDIO
        frame.buf = pj.ByteVector(pcm)
        frame.size = len(pcm)

    def _fail(self) -> None:
        """A frame callback raised (the frame is lost): logged once per port, not every 20 ms."""
        if not self._failed:
            self._failed = True
            log.exception("a media frame callback failed")
