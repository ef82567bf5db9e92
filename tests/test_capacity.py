"""Admission: how many calls the bot serves at once (configured, measured on this machine kind, or per core), and
a call beyond that told the lines are busy over a real call (`employai run`, `employai dial`), while the call
being served goes on. The refusal by SIP status instead (486, 503) is in test_sip_hardening."""

from __future__ import annotations

import json
import re
import threading
import time
from contextlib import closing

import pytest

from employai.harness.conversation_calls import CallerVoices, play
from employai.harness.dialogues.script import Dialogue, Outcome, say
from employai.runtime.capacity import Admission, measured_calls, serving_capacity
from employai.runtime.cpu import cpu_model, machine_cores
from sip_config.loader import config_from_dict

from .peers import start_bot


@pytest.mark.unit
def test_the_number_served_is_configured_or_measured_here_or_one_per_core(tmp_path):
    assert serving_capacity(config_from_dict({"capacity": {"calls": 5}}), tmp_path) == (5, "capacity.calls")
    default = config_from_dict({})
    assert serving_capacity(default, tmp_path)[0] == default.sip.max_calls  # not measured: as before admission
    measured = {"cpu": cpu_model(), "cores": machine_cores(), "calls": 4}
    (tmp_path / "capacity.json").write_text(json.dumps(measured))
    assert measured_calls(tmp_path) == 4 and serving_capacity(default, tmp_path)[0] == 4
    (tmp_path / "capacity.json").write_text(json.dumps({**measured, "cpu": "another machine"}))
    assert measured_calls(tmp_path) == 0  # measured on another machine kind: not this one's figure
    (tmp_path / "capacity.json").write_text("not json")
    assert measured_calls(tmp_path) == 0


@pytest.mark.unit
def test_admission_counts_calls_in_and_out_and_says_how_to_refuse():
    admission = Admission(2, "announce")
    assert admission.admit() and admission.admit() and not admission.admit()
    assert admission.refusal() is None and admission.serving == 2
    admission.release()
    assert admission.admit() and not admission.admit()
    assert Admission(1, "503").refusal() == 503 and Admission(1, "486").refusal() == 486
    with pytest.raises(Exception, match="capacity.when_full"):
        config_from_dict({"capacity": {"when_full": "queue"}})


HELD = Dialogue("held", "a caller being served while another calls", (
    say("Hello, what are your opening hours?", "answers", r"monday|friday|\?|help"),
    say("And how much do you charge to come out?", "answers", r"eighty|\b80\b|\?|help"),
    say("Are you open on Saturdays?", "answers", r"monday|friday|\?|help"),
), Outcome(), voice="slt")
BEYOND = Dialogue("beyond", "a caller beyond capacity", (
    say("Hello?", "nothing: the call has ended"),), Outcome(), voice="rms")


@pytest.mark.sip
@pytest.mark.timeout(300)
def test_a_call_beyond_capacity_hears_the_lines_are_busy_and_the_call_served_goes_on(tmp_path):
    bot = start_bot(tmp_path / "bot", "[capacity]\ncalls = 1\n")
    voices = CallerVoices(tmp_path / "voices")
    try:
        served: list = []
        first = threading.Thread(target=lambda: served.append(play(bot, HELD, "served", voices, tmp_path)))
        first.start()
        deadline = time.monotonic() + 60
        while not any(c["end_reason"] is None for c in bot.calls()):  # the first call is up
            assert time.monotonic() < deadline, bot.log()[-3000:]
            time.sleep(0.2)
        beyond = play(bot, BEYOND, "beyond", voices, tmp_path)
        status = bot.cli("status").stdout
        first.join(240)
    finally:
        bot.stop()
    assert beyond.ended_by == "bot" and beyond.end_reason == "busy", beyond
    assert "1 served at once (capacity.calls)" in status and "CPU lane" in status, status
    assert re.search(r"inbound\s+served\s+\d+:\d\d", status), status  # the call being served, and for how long
    assert f"database:     {tmp_path / 'bot' / 'data' / 'employai.sqlite3'}" in status, status
    with closing(bot.db()) as db:
        said = [r["text"] for r in db.execute(
            "SELECT text FROM turns JOIN calls ON calls.id = turns.call_id WHERE calls.end_reason = 'busy'")]
    assert any("lines are busy" in text for text in said), said
    call = served[0]
    assert call.end_reason != "busy" and all(t.reply for t in call.turns), call  # every question answered
