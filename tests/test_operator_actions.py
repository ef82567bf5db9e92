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
