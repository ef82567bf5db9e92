"""Scripted engines for unit tests of one stage. Each implements the same Protocol as the real engine."""

from __future__ import annotations

import json
from collections import deque
from concurrent.futures import Future

import numpy as np
from autogen_core import FunctionCall
from autogen_core.models import CreateResult, FunctionExecutionResultMessage, ModelFamily, ModelInfo, RequestUsage
from autogen_ext.models.replay import ReplayChatCompletionClient

from employai.runtime.engines import Engines
from employai.runtime.understanding import Understanding
from sip_config import Config, load_config
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
        self.expected: list[str] = []  # what each turn was transcribed expecting ("" or "digits")
        self._last: tuple[bytes, str | Exception] | None = None
        self.prompt = ""  # the business prompt given (`speech.stt.PromptedTranscriber`)

    def set_prompt(self, prompt: str) -> None:
        self.prompt = prompt

    def transcribe(self, pcm: bytes, expect: str = "") -> Transcript:
        self.heard.append(pcm)
        self.expected.append(expect)
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


def fake_engines(transcripts: list[str | Exception], replies: list[str], voice: bytes | None = None,
                 model_client=None, config: Config | None = None) -> Engines:
    """Scripted engines; understanding by keywords only (no embedder), as the real one degrades without MiniLM."""
    voice = voice or speech_pcm()
    canned = {k: voice for k in ("apology", "silence_prompt", "goodbye", "max_duration", "shutdown", "greeting")}
    return Engines(FakeTranscriber(transcripts), FakeSynthesizer(voice),
                   model_client or ReplayChatCompletionClient(replies), canned, embedder=None,
                   understanding=Understanding(config or load_config(), None))


class ToolCallingModel(ReplayChatCompletionClient):
    """A model that calls tools: whatever it is asked, it calls `tool` with `arguments`; handed the tool's result,
    it says `reply`. It answers by what it is given, so a reply prepared and dropped does not shift its script."""

    def __init__(self, tool: str, arguments: dict, reply: str):
        super().__init__([], model_info=ModelInfo(vision=False, function_calling=True, json_output=False,
                                                  family=ModelFamily.UNKNOWN, structured_output=False))
        self._call = FunctionCall(id="call-1", arguments=json.dumps(arguments), name=tool)
        self._reply = reply
        self.tool_results: list[str] = []
        self.offered: list[list[str]] = []  # the tool names offered, per request

    async def create(self, messages, **kwargs) -> CreateResult:
        async for item in self.create_stream(messages, **kwargs):
            if isinstance(item, CreateResult):
                return item
        raise AssertionError("no result")

    async def create_stream(self, messages, *, tools=(), **kwargs):
        self.offered.append([t.name if hasattr(t, "name") else t["name"] for t in tools])
        usage = RequestUsage(prompt_tokens=0, completion_tokens=0)
        if isinstance(messages[-1], FunctionExecutionResultMessage):
            self.tool_results.append(messages[-1].content[0].content)
            for word in self._reply.split(" "):
                yield word + " "
            yield CreateResult(finish_reason="stop", content=self._reply, usage=usage, cached=False)
        else:
            yield CreateResult(finish_reason="function_calls", content=[self._call], usage=usage, cached=False)


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


def policy_for(memory, replies: list[str], config: Config | None = None, call_id: int | None = None,
               model_client=None, embedder=None, directory=None):
    """The turn policy a call would use: a scripted model, understanding by keywords (or `embedder`), memory
    writes done at once."""
    from brain.switchboard import Directory
    from employai.runtime.conversation import new_turn_policy

    config = config or load_config()
    client = model_client or ReplayChatCompletionClient(replies)
    return new_turn_policy(config, client, Understanding(config, embedder), memory, call_id,
                           directory or Directory(config.transfer), lambda fn, *a, **k: fn(*a, **k))


async def spoken(policy, said: str, unsure: bool = False) -> str:
    """What the caller hears in answer to `said` (and the policy is told it was heard). `unsure`: the recogniser
    doubted the words."""
    answer = await policy.answer(said, unsure)
    text = "".join([piece async for piece in answer.pieces()]).strip()
    await policy.heard(answer, text)
    return text
