"""Scripted engines for unit tests of one stage. Each implements the same Protocol as the real engine."""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future

import numpy as np
from autogen_ext.models.replay import ReplayChatCompletionClient

from employai.engines import Engines
from speech.pcm import normalize_peak, read_wav
from speech.stt import Transcript

from .peers import SHARED_EVAL


def speech_pcm(name: str = "LDC93S1.wav", peak: float = 0.5) -> bytes:
    """A real human recording as 16 kHz int16 PCM: silence trimmed from both ends, peak at a phone level."""
    samples = normalize_peak(read_wav(SHARED_EVAL / name), peak)
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > 0.05 * 32767)
    return samples[loud[0] : loud[-1] + 1].tobytes()


class FakeTranscriber:
    """Returns scripted transcripts, one per utterance, in order (then empty ones); an Exception is raised.

    Like a real transcriber it answers for the audio: an utterance transcribed during a pause and again once the
    caller went on (the same audio, longer) gets the same script item, not the next one."""

    def __init__(self, script: list[str | Exception]):
        self.script = deque(script)
        self.heard: list[bytes] = []
        self._last: tuple[bytes, str | Exception] | None = None

    def transcribe(self, pcm: bytes) -> Transcript:
        self.heard.append(pcm)
        if self._last is not None and len(pcm) > len(self._last[0]) and pcm.startswith(self._last[0]):
            item = self._last[1]  # the same utterance, continued
        else:
            item = self.script.popleft() if self.script else ""
        self._last = (pcm, item)
        if isinstance(item, Exception):
            raise item
        return Transcript(item)


class FakeSynthesizer:
    """Every sentence sounds like the same real recording (so VAD and echo behave as with real speech)."""

    def __init__(self, pcm: bytes):
        self.pcm = pcm
        self.said: list[str] = []

    def synthesize(self, text: str) -> bytes:
        self.said.append(text)
        return self.pcm


def fake_engines(transcripts: list[str | Exception], replies: list[str], voice: bytes | None = None) -> Engines:
    voice = voice or speech_pcm()
    canned = {k: voice for k in ("apology", "silence_prompt", "goodbye", "max_duration", "shutdown", "greeting")}
    return Engines(FakeTranscriber(transcripts), FakeSynthesizer(voice), ReplayChatCompletionClient(replies), canned,
                   embedder=None)


class FakeCallHandle:
    def __init__(self) -> None:
        self.hangups: list[int] = []
        self.transfers: list[str] = []
        self.call_id = 0

    def hangup(self, status: int = 200) -> None:
        self.hangups.append(status)

    def transfer(self, uri: str) -> Future:
        """Like the real handle: the REFER is sent on the SIP thread; NOTIFYs come back as on_transfer_status."""
        self.transfers.append(uri)
        done: Future = Future()
        done.set_result(None)
        return done
