"""Long input and faults inside one call, without SIP: an utterance that never ends is cut and answered, the audio
queue is bounded, an exception anywhere in a call's conductor ends that call cleanly (BYE, record closed), and an
attended transfer's second leg is hung up when the caller leaves mid-transfer."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from brain.switchboard import Directory
from employai.runtime.call_context import CallContext
from employai.runtime.conductor import CallConductor
from employai.runtime.inbound import INBOUND_FRAMES
from employai.runtime.transfers import Transfers
from memory.transcripts import TranscriptStore
from sip_config import load_config
from speech.vad import SpeechStarted, TurnEnded, UtteranceSegmenter
from telephony.call import IncomingCall

from .fakes import FakeCallHandle, fake_engines

pytestmark = pytest.mark.unit

INVITE = ("INVITE sip:bot@127.0.0.1 SIP/2.0\r\nFrom: <sip:+15550101@127.0.0.1>;tag=1\r\n"
          "To: <sip:bot@127.0.0.1>\r\nCall-ID: abc\r\nCSeq: 1 INVITE\r\n\r\n")
FRAME = b"\x00\x01" * 320


def test_an_utterance_that_never_pauses_is_ended_at_the_limit():
    segmenter = UtteranceSegmenter(300, 120, 120, 500, max_utterance_ms=5_000)
    events = []
    for i in range(400):  # 8 s of speech without a pause
        events += segmenter.push(FRAME, True, i * 0.02)
    ends = [e for e in events if isinstance(e, TurnEnded)]
    assert isinstance(events[0], SpeechStarted) and len(ends) == 1
    assert len(ends[0].pcm) == 250 * len(FRAME)  # 5 s, then a new utterance starts with what follows
    assert segmenter.in_speech


class BrokenStore(TranscriptStore):
    """Fails when the call's memory is looked up, after its record is open: an unexpected error in the middle of
    the conductor."""

    def caller_memory(self, caller_user: str):
        raise RuntimeError("disk on fire")


def test_an_exception_in_the_conductor_ends_that_call_cleanly(tmp_path):
    async def scenario():
        store = BrokenStore(tmp_path / "t.sqlite3")
        handle = FakeCallHandle()
        config = load_config()
        context = CallContext.inbound(IncomingCall.from_invite(INVITE, trusted=True), Directory(config.transfer))
        conductor = CallConductor(config, fake_engines([], []), store, handle, context, asyncio.get_running_loop())
        conductor.on_answered()
        await asyncio.wait_for(conductor.run(), 10)  # returns: the exception does not escape to the bot
        return store, handle, conductor

    store, handle, conductor = asyncio.run(scenario())
    assert handle.hangups == [200]  # BYE
    (call,) = store.calls()
    assert call["end_reason"] == "error" and call["ended_at"] is not None
    store.close()


def test_the_audio_queue_is_bounded_and_the_end_of_the_call_is_never_dropped(tmp_path):
    async def scenario():
        store = TranscriptStore(tmp_path / "t.sqlite3")
        config = load_config()
        context = CallContext.inbound(IncomingCall.from_invite(INVITE, trusted=True), Directory(config.transfer))
        conductor = CallConductor(config, fake_engines([], []), store, FakeCallHandle(), context,
                                  asyncio.get_running_loop())
        for _ in range(INBOUND_FRAMES + 100):  # the event loop is "busy": nothing is consumed meanwhile
            conductor.on_audio_frame(FRAME)
        conductor.on_ended("bye", 200)
        await asyncio.sleep(0.05)
        queued = conductor._inbound.qsize()
        store.close()
        return conductor, queued

    conductor, queued = asyncio.run(scenario())
    assert queued == INBOUND_FRAMES and conductor._inbound.dropped == 101
    assert conductor._ended.is_set()


class Colleague:
    def __init__(self):
        self.hangups = 0

    def hangup(self, status: int = 200) -> None:
        self.hangups += 1


def test_the_colleague_leg_is_hung_up_when_the_caller_leaves_mid_transfer():
    async def scenario():
        loop = asyncio.get_running_loop()
        transfers = Transfers(FakeCallHandle(), loop, notify_timeout_s=5)
        colleague = Colleague()
        introduced = asyncio.Event()

        async def dial(uri, leg):
            loop.call_soon(leg.answered.set)
            return colleague

        async def introduce(playout):
            introduced.set()
            await asyncio.sleep(30)  # the bot is still talking to the colleague when the caller hangs up

        task = asyncio.create_task(transfers.attended("sip:carol@pbx.example", dial, introduce, ring_s=5))
        await asyncio.wait_for(introduced.wait(), 5)
        task.cancel()  # what the conductor does when the caller's call ends
        with pytest.raises(asyncio.CancelledError):
            await task
        return colleague

    assert asyncio.run(scenario()).hangups == 1


def test_every_employai_command_prints_a_python_traceback_on_a_native_crash(tmp_path):
    """faulthandler is on from the first line of `employai` (a segmentation fault in llama.cpp or PJSIP then shows
    every thread's Python stack): a real crash in a child process, through the real entry point."""
    import subprocess
    import sys

    crash = ("import ctypes, sys; from employai.cli import main as cli; sys.argv = ['employai', 'status'];"
             "cli.setup_logging = lambda verbose: ctypes.string_at(0)\ncli.main(['status'])")
    repo = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-c", crash], capture_output=True, text=True, timeout=60,
                            cwd=tmp_path, env={"PYTHONPATH": str(repo)})
    assert result.returncode != 0
    assert "Fatal Python error: Segmentation fault" in result.stderr and "employai/cli/main.py" in result.stderr, \
        result.stderr[-2000:]
