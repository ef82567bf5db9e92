"""Scheduled outbound calls against SIPp callees: scheduled with `employai call`, kept across a restart of the
bot, placed when due, retried after 486 Busy and after no answer, answered on the third attempt; the bot says
who it is and why it calls, the callee's answer goes into memory, and every attempt is recorded."""

from __future__ import annotations

import time

import pytest

from speech.pcm import read_wav

from .pbx import SippServer
from .peers import free_udp_port, start_bot
from .rtp_pcap import write_pcmu_pcap
from .sipp_scenarios import callee_scenario, play_pcap, write

pytestmark = pytest.mark.sip

OUTBOUND = """
[outbound]
calling_hours = "00:00-24:00"
calling_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
max_attempts = 3
retry_after_s = 2
ring_timeout_s = 4

[call]
silence_prompt_s = 4.0
silence_hangup_s = 9.0
"""


def _callee(kind: str, port: int, tmp_path, middle: str = "") -> SippServer:
    scenario = write(tmp_path / f"callee-{kind}.xml", callee_scenario(kind, ring_ms=300, middle=middle))
    return SippServer(scenario, tmp_path, port=port)


def test_a_scheduled_call_survives_a_restart_is_retried_and_its_outcome_recorded(tmp_path, say):
    workdir = tmp_path / "bot"
    port = free_udp_port()
    uri = f"sip:+15550177@127.0.0.1:{port}"
    bot = start_bot(workdir, OUTBOUND)
    try:
        scheduled = bot.cli("call", uri, "--at", "+8s", "--task",
                              "confirm the plumber's visit on Friday at ten")
        assert scheduled.returncode == 0 and scheduled.stdout.startswith("Scheduled call 1 "), scheduled.stdout
        cancelled = bot.cli("call", uri, "--at", "+1h", "--task", "something else")
        assert bot.cli("calls", "cancel", "2").returncode == 0, cancelled.stdout
    finally:
        assert bot.stop() == 0
    listing = bot.cli("calls", "scheduled")
    assert "pending" in listing.stdout and "confirm the plumber" in listing.stdout and "something else" not in \
        listing.stdout

    busy = _callee("busy", port, tmp_path)
    bot = start_bot(workdir, OUTBOUND)  # the same database: the schedule was kept
    try:
        assert busy.wait(60)[0] == 0, busy.wait(1)[1]
        no_answer = _callee("no_answer", port, tmp_path)
        rc, out = no_answer.wait(60)
        assert rc == 0, out
        speech = write_pcmu_pcap(read_wav(say("Yes, Friday at ten is fine. My name is Carol Diaz."), rate=8000),
                                 tmp_path / "carol.pcap", lead_silence_s=7.0)
        answer = _callee("answer", port, tmp_path, middle=play_pcap(speech))
        rc, out = answer.wait(90)
        assert rc == 0, out
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "done" not in bot.cli("calls", "scheduled", "--all").stdout:
            time.sleep(0.5)
    finally:
        assert bot.stop() == 0
    assert "Traceback" not in bot.log()

    with bot.db() as db:
        row = db.execute("SELECT status, attempts, last_outcome, task_done FROM scheduled_calls WHERE id = 1"
                         ).fetchone()
        attempts = db.execute("SELECT outcome, sip_status FROM call_attempts WHERE scheduled_id = 1 ORDER BY id"
                              ).fetchall()
        never = db.execute("SELECT COUNT(*) FROM call_attempts WHERE scheduled_id = 2").fetchone()[0]
    assert tuple(row) == ("done", 3, "answered", 1)
    assert [a["outcome"] for a in attempts] == ["busy", "no_answer", "answered"]
    assert attempts[0]["sip_status"] == 486
    assert never == 0  # the cancelled call was never placed
    call = [c for c in bot.calls() if c["direction"] == "outbound"][-1]
    assert call["purpose"] == "confirm the plumber's visit on Friday at ten" and call["scheduled_id"] == 1
    turns = bot.turns(call["id"])
    assert turns[0]["role"] == "bot" and "The reason I am calling: confirm the plumber's visit" in turns[0]["text"]
    assert any(t["role"] == "caller" and "Friday" in t["text"] for t in turns), [dict(t) for t in turns]
    memory = bot.cli("memory", "show", "+15550177")
    assert "Carol" in memory.stdout, memory.stdout
