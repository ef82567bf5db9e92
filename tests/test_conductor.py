"""The per-call conductor with scripted engines and a simulated 20 ms media clock: barge-in, echo, silence,
engine failure. Real webrtcvad and a real SQLite file; no SIP."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import deque

import pytest

from brain.switchboard import Directory
from employai.runtime.call_context import CallContext
from employai.runtime.conductor import CallConductor
from memory.transcripts import TranscriptStore
from sip_config import load_config
from sip_config.loader import config_from_dict
from speech.pcm import FRAME_BYTES, SILENCE_FRAME
from telephony import IncomingCall

from .fakes import FakeCallHandle, ToolCallingModel, fake_engines, speech_pcm

pytestmark = pytest.mark.unit

INVITE = (
    "INVITE sip:bot@127.0.0.1 SIP/2.0\r\nFrom: <sip:+15550101@127.0.0.1>;tag=1\r\n"
    "To: <sip:bot@127.0.0.1>\r\nCall-ID: abc\r\nCSeq: 1 INVITE\r\n\r\n"
)


class Line:
    """The far end of a simulated call: takes the bot's frames, sends back echo and scripted caller audio."""

    def __init__(self, conductor: CallConductor, echo_gain: float = 0.0, echo_delay_frames: int = 3):
        self.conductor = conductor
        self.echo_gain = echo_gain
        self.echo: deque[bytes] = deque([SILENCE_FRAME] * echo_delay_frames)
        self.caller: deque[bytes] = deque()
        self.sent: list[bytes | None] = []  # what the bot sent, frame by frame
        self.caller_started_at: int | None = None

    def say(self, pcm: bytes) -> None:
        self.caller_started_at = len(self.sent)
        self.caller.extend(pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm) - FRAME_BYTES + 1, FRAME_BYTES))

    async def run_for(self, seconds: float) -> None:
        import numpy as np

        for _ in range(int(seconds * 50)):
            out = self.conductor.next_audio_frame()
            self.sent.append(out)
            self.echo.append(out or SILENCE_FRAME)
            echo = np.frombuffer(self.echo.popleft(), dtype=np.int16).astype(np.float32) * self.echo_gain
            voice = np.frombuffer(self.caller.popleft(), dtype=np.int16) if self.caller else 0
            frame = np.clip(echo + voice, -32768, 32767).astype(np.int16).tobytes()
            self.conductor.on_audio_frame(frame)
            await asyncio.sleep(0.02)


async def _call(tmp_path, transcripts, replies, raw_config=None, model=None, **call_settings):
    config = config_from_dict(raw_config) if raw_config else load_config()
    config = dataclasses.replace(config, llm=dataclasses.replace(config.llm, open_replies="model"))  # the model's path
    if call_settings:
        config = dataclasses.replace(config, call=dataclasses.replace(config.call, **call_settings))
    store = TranscriptStore(tmp_path / "t.sqlite3")
    handle = FakeCallHandle()
    context = CallContext.inbound(IncomingCall.from_invite(INVITE, trusted=True), Directory(config.transfer))
    conductor = CallConductor(config, fake_engines(transcripts, replies, model_client=model, config=config), store,
                              handle, context,
                              asyncio.get_running_loop())
    conductor.on_answered()
    task = asyncio.create_task(conductor.run())
    return conductor, store, handle, task


async def _hang_up(conductor, task):
    conductor.on_ended("caller hung up", 200)
    await asyncio.wait_for(task, 5)


def test_own_echo_does_not_interrupt_the_bot(tmp_path):
    async def scenario():
        conductor, store, _, task = await _call(tmp_path, [], [])
        line = Line(conductor, echo_gain=0.1)  # -20 dB echo, 60 ms late
        await line.run_for(4.5)
        await _hang_up(conductor, task)
        return store.turns(conductor.call_id)

    turns = asyncio.run(scenario())
    assert [(t.role, t.interrupted) for t in turns] == [("bot", False)]


def test_caller_speech_stops_the_bot_within_300_ms_and_is_answered(tmp_path):
    async def scenario():
        # A reply prepared at a pause and dropped when the caller goes on uses up a scripted reply: script enough.
        conductor, store, _, task = await _call(tmp_path, ["is anybody there"], ["Yes, I am here."] * 3)
        line = Line(conductor, echo_gain=0.1)
        await line.run_for(0.6)
        line.say(speech_pcm("vctk_p226_001.wav"))  # the caller talks over the greeting, with the echo still there
        await line.run_for(7.0)
        await _hang_up(conductor, task)
        return line, store.turns(conductor.call_id), conductor

    line, turns, conductor = asyncio.run(scenario())
    onset = line.caller_started_at
    stopped = next(i for i in range(onset, len(line.sent)) if line.sent[i] is None)
    assert (stopped - onset) * 20 <= 300, f"playback went on {(stopped - onset) * 20} ms after speech began"
    greeting = turns[0]
    assert greeting.role == "bot" and greeting.interrupted
    assert len(greeting.text.split()) < len(conductor._config.profile.greeting.split())
    assert [t.role for t in turns[1:3]] == ["caller", "bot"] and turns[1].text == "is anybody there"
    assert turns[2].text == "Yes, I am here." and not turns[2].interrupted


def test_engine_failure_gets_a_spoken_apology_and_the_call_goes_on(tmp_path):
    async def scenario():
        conductor, store, handle, task = await _call(
            tmp_path, [RuntimeError("stt crashed"), "hello again"], ["Hi there."])
        line = Line(conductor)
        await line.run_for(3.6)  # the greeting
        line.say(speech_pcm("vctk_p226_001.wav"))
        await line.run_for(5.0)
        line.say(speech_pcm("vctk_p226_001.wav"))
        await line.run_for(5.0)
        await _hang_up(conductor, task)
        return store.turns(conductor.call_id), conductor, handle

    turns, conductor, handle = asyncio.run(scenario())
    texts = [(t.role, t.text) for t in turns]
    assert ("bot", conductor._config.call.apology_text) in texts, texts
    assert ("caller", "hello again") in texts and texts[-1][1].startswith("Hi there"), texts
    assert handle.hangups == []


async def _until_the_bot_hangs_up(tmp_path, limit_s: float, **call_settings):
    """A silent caller on the line until the bot hangs up (or `limit_s` passes)."""
    conductor, store, handle, task = await _call(tmp_path, [], [], **call_settings)
    line = Line(conductor)
    for _ in range(int(limit_s / 0.5)):
        await line.run_for(0.5)
        if handle.hangups:
            break
    conductor.on_ended("bye", 200)
    await asyncio.wait_for(task, 5)
    return store, conductor, handle


def test_silent_caller_is_prompted_then_the_call_is_ended(tmp_path):
    store, conductor, handle = asyncio.run(
        _until_the_bot_hangs_up(tmp_path, 20, silence_prompt_s=1.0, silence_hangup_s=6.0))
    texts = [t.text for t in store.turns(conductor.call_id)]
    assert conductor._config.call.silence_prompt_text in texts
    assert handle.hangups == [200]
    assert store.calls()[-1]["end_reason"] == "silence"


def test_maximum_call_duration_is_enforced(tmp_path):
    store, _, handle = asyncio.run(_until_the_bot_hangs_up(tmp_path, 15, max_duration_s=2.0))
    assert handle.hangups == [200]
    assert store.calls()[-1]["end_reason"] == "max_duration"
    assert store.turns(1)[-1].text == load_config().call.max_duration_text


OPERATOR = {"transfer": {"directory": [{"name": "Operator", "uri": "sip:operator@127.0.0.1:5999"}]},
            "dtmf": {"shortcuts": {"0": "Operator"}}}


@pytest.mark.parametrize("notify", [200, 486])
def test_a_key_shortcut_transfers_and_a_failed_transfer_is_told_to_the_caller(tmp_path, notify):
    async def scenario():
        conductor, store, handle, task = await _call(tmp_path, [], [], raw_config=OPERATOR)
        line = Line(conductor)
        await line.run_for(1.0)
        conductor.on_dtmf("0")
        await line.run_for(6.0)  # the bot says it puts the caller through, then sends the REFER
        transfers = list(handle.transfers)
        conductor.on_transfer_status(100, "Trying", False)
        conductor.on_transfer_status(notify, "OK" if notify == 200 else "Busy Here", True)
        await line.run_for(5.0)
        await _hang_up(conductor, task)
        return store, conductor, handle, transfers

    store, conductor, handle, transfers = asyncio.run(scenario())
    assert transfers == ["sip:operator@127.0.0.1:5999"]
    texts = [t.text for t in store.turns(conductor.call_id) if t.role == "bot"]
    assert any("put you through to Operator" in t for t in texts), texts
    record = store.calls()[-1]
    assert "Operator <sip:operator@127.0.0.1:5999>" in record["transferred_to"]
    if notify == 200:
        assert handle.hangups == [200] and record["end_reason"] == "transferred"
    else:
        assert handle.hangups == [] and any("couldn't put you through" in t for t in texts), texts
        offer = conductor._policy._state.offer  # "Can I take a message?": a yes now takes one for the Operator
        assert offer is not None and "Operator" in offer[2].values(), offer


def test_digits_keyed_after_the_bot_asks_for_a_number_are_that_number(tmp_path):
    async def scenario():
        conductor, store, _, task = await _call(tmp_path, ["I have a question about my order", "yes"],
                                                ["Sure. What is your order number?", "Thank you."])
        line = Line(conductor)
        await line.run_for(3.6)  # the greeting
        line.say(speech_pcm("vctk_p226_001.wav"))
        await line.run_for(6.0)
        for key in "4471#":
            conductor.on_dtmf(key)
        await line.run_for(8.0)
        read_back = [t.text for t in store.turns(conductor.call_id)][-1]
        remembered_before_yes = store.caller_memory("+15550101").human().value
        line.say(speech_pcm("vctk_p226_001.wav"))  # "yes"
        await line.run_for(5.0)
        await _hang_up(conductor, task)
        return store, conductor, read_back, remembered_before_yes, conductor._engines.transcriber.expected

    store, conductor, read_back, before, expected = asyncio.run(scenario())
    assert expected[0] == "" and expected[-1] == "digits", expected  # the "yes" to a read-back is heard as such
    turns = [(t.role, t.text) for t in store.turns(conductor.call_id)]
    assert ("caller", "My order number is 4471.") in turns, turns
    assert "4 4 7 1" in read_back and read_back.endswith("?"), turns  # read back digit by digit, for a yes
    assert "4471" not in before  # nothing stored before the caller confirmed it
    assert "4471" in store.caller_memory("+15550101").human().value


BILLING = {"transfer": {"directory": [{"name": "Dana Lee", "department": "billing", "uri": "sip:dana@127.0.0.1:5999"}]}}


@pytest.mark.parametrize("asked, transferred", [("billing", True), ("555 0199", False)])
def test_a_model_that_calls_tools_can_transfer_but_only_to_the_directory(tmp_path, asked, transferred):
    model = ToolCallingModel("transfer_call", {"person_or_department": asked}, "Let me sort that out for you.")

    async def scenario():
        conductor, store, handle, task = await _call(tmp_path, ["somebody sent me the invoice twice"], [],
                                                     raw_config=BILLING, model=model)
        line = Line(conductor)
        await line.run_for(3.6)  # the greeting
        line.say(speech_pcm("vctk_p226_001.wav"))
        await line.run_for(9.0)
        transfers = list(handle.transfers)
        conductor.on_transfer_status(200, "OK", True)
        await line.run_for(2.0)
        await _hang_up(conductor, task)
        return store, conductor, transfers

    store, conductor, transfers = asyncio.run(scenario())
    assert {"transfer_call", "core_memory_append", "conversation_search"} <= set(model.offered[0])
    texts = [t.text for t in store.turns(conductor.call_id) if t.role == "bot"]
    assert "Let me sort that out for you." in texts, texts
    if transferred:
        assert "put through to Dana Lee" in model.tool_results[-1]
        assert transfers == ["sip:dana@127.0.0.1:5999"]
        assert "Dana Lee <sip:dana@127.0.0.1:5999>" in store.calls()[-1]["transferred_to"]
    else:
        assert "Not in the directory" in model.tool_results[-1] and "Dana Lee in billing" in model.tool_results[-1]
        assert transfers == [] and store.calls()[-1]["transferred_to"] is None
