"""What the operator does to a live call from the console, through the conductor's own paths (scripted engines, a
simulated line, a real SQLite file; no SIP): a transfer to a directory entry takes the caller's shortcut-key path,
and nothing else can be dialled."""

from __future__ import annotations

import asyncio

import pytest

from .test_conductor import OPERATOR, Line, _call, _hang_up

pytestmark = pytest.mark.unit


def test_the_operator_transfers_a_call_as_a_shortcut_key_does_and_only_to_the_directory(tmp_path):
    async def scenario():
        conductor, store, handle, task = await _call(tmp_path, [], [], raw_config=OPERATOR)
        line = Line(conductor)
        await line.run_for(1.0)
        refused = [conductor.transfer(name) for name in ("Mallory", "sip:mallory@198.51.100.7", "")]
        await line.run_for(0.5)
        assert handle.transfers == []
        taken = conductor.transfer("operator")  # the directory's own rule: names match whatever their case
        await line.run_for(6.0)  # the bot says it puts the caller through, then sends the REFER
        transfers = list(handle.transfers)
        conductor.on_transfer_status(200, "OK", True)
        await line.run_for(1.0)
        await _hang_up(conductor, task)
        return store, conductor, handle, refused, taken, transfers

    store, conductor, handle, refused, taken, transfers = asyncio.run(scenario())
    assert refused == [False, False, False] and taken is True
    assert transfers == ["sip:operator@127.0.0.1:5999"]
    said = [t.text for t in store.turns(conductor.call_id) if t.role == "bot"]
    assert any("put you through to Operator" in t for t in said), said
    record = store.calls()[-1]
    assert record["end_reason"] == "transferred" and handle.hangups == [200]
    assert record["transferred_to"].startswith("Operator <sip:operator@127.0.0.1:5999>")
    assert conductor.transfer("Operator") is False  # the call is over


def test_no_transfer_before_the_call_has_its_record(tmp_path):
    async def scenario():
        conductor, _, handle, task = await _call(tmp_path, [], [], raw_config=OPERATOR)
        early = conductor.transfer("Operator")  # the record is not open yet: nothing to put through
        await _hang_up(conductor, task)
        return early, handle

    early, handle = asyncio.run(scenario())
    assert early is False and handle.transfers == []


class FakeMetrics:
    """The bot's `CallMetrics`, keeping what it is told."""

    def __init__(self) -> None:
        self.timings: list = []

    def call_started(self, direction: str) -> None: ...
    def call_ended(self, direction: str, end_reason: str) -> None: ...
    def registration(self, state: str) -> None: ...
    def scheduled_attempt(self, outcome: str) -> None: ...

    def turns(self, timings) -> None:
        self.timings.extend(timings)


def test_each_timed_bot_turn_reaches_the_metrics_while_the_call_goes_on(tmp_path):
    from brain.switchboard import Directory
    from employai.runtime.call_context import CallContext
    from employai.runtime.conductor import CallConductor
    from memory.transcripts import TranscriptStore
    from sip_config import load_config
    from telephony import IncomingCall

    from .fakes import FakeCallHandle, fake_engines
    from .test_conductor import INVITE

    async def scenario():
        config = load_config()
        metrics = FakeMetrics()
        store = TranscriptStore(tmp_path / "t.sqlite3")
        context = CallContext.inbound(IncomingCall.from_invite(INVITE, trusted=True), Directory(config.transfer))
        conductor = CallConductor(config, fake_engines([], [], config=config), store, FakeCallHandle(), context,
                                  asyncio.get_running_loop(), metrics=metrics)
        conductor.on_answered()
        task = asyncio.create_task(conductor.run())
        await Line(conductor).run_for(4.0)  # the greeting, said and played out
        live = list(metrics.timings)
        await _hang_up(conductor, task)
        return live, store.turns(conductor.call_id)

    live, turns = asyncio.run(scenario())
    greeting = [t for t in turns if t.role == "bot"][0]
    assert live == [greeting.timing] and greeting.timing.first_frame is not None


def test_a_bot_turn_without_timing_is_not_a_latency_sample(tmp_path):
    from employai.runtime.call_record import CallRecord
    from memory.transcripts import TurnTiming

    async def scenario():
        metrics = FakeMetrics()
        record = CallRecord(_Store(), _Context(), asyncio.get_running_loop(), metrics)
        record.bot_said("Goodbye.", interrupted=False)  # the last canned line of `finish`
        timed = TurnTiming(1.0, 1.2, 1.5, 1.7, 1.8)
        record.bot_said("We open at nine.", interrupted=False, timing=timed)
        await record.flush()
        return metrics.timings, timed

    timings, timed = asyncio.run(scenario())
    assert timings == [timed]


class _Store:
    pins = None

    def add_turn(self, *args, **kwargs) -> int:
        return 1


class _Context:
    class remote:  # noqa: N801 (the shape of CallContext.remote)
        user, verified = "", False
