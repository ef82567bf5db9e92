"""Transfers in and out, and DTMF, against SIPp callers over loopback: a caller transferred to the bot is greeted
with who sent them (and it is on the call record); "put me through to sales" becomes a REFER to the directory
entry; a number outside the directory is refused; RFC 4733 and SIP INFO keys trigger a shortcut."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from speech.pcm import read_wav

from .pbx import SippServer
from .peers import free_udp_port, sipp, start_bot
from .rtp_pcap import write_pcmu_pcap
from .sipp_scenarios import callee_scenario, caller_scenario, dtmf_info, pause, play_pcap, take_refer, write

pytestmark = pytest.mark.sip

DIRECTORY = """
[[transfer.directory]]
name = "Sales"
department = "sales"
uri = "sip:sales@127.0.0.1:5999"

[[transfer.directory]]
name = "Bob"
department = "sales"
uri = "sip:bob@127.0.0.1:5997"

[[transfer.directory]]
name = "Operator"
uri = "sip:operator@127.0.0.1:5998"

[[transfer.directory]]
name = "Carol"
department = "support"
uri = "sip:callee@127.0.0.1:{carol_port}"
attended = true

[transfer]
colleague_ring_s = 5.0

[dtmf]
shortcuts = {{ "0" = "Operator", "9" = "Carol" }}
"""
CAROL_PORT = free_udp_port()


@pytest.fixture(scope="module")
def pbx_bot(tmp_path_factory):
    bot = start_bot(tmp_path_factory.mktemp("bot"), DIRECTORY.format(carol_port=CAROL_PORT))
    yield bot
    assert bot.stop() == 0
    assert "Traceback" not in bot.log()


def _speech_pcap(say, text: str, path, lead_s: float):
    """What the SIPp caller says, as 8 kHz G.711 RTP in a pcap, after `lead_s` of silence (the greeting)."""
    return write_pcmu_pcap(read_wav(say(text), rate=8000), path, lead_silence_s=lead_s)


def _call(bot, tmp_path, scenario: str, timeout: float = 60):
    result = sipp(write(tmp_path / "scenario.xml", scenario), f"127.0.0.1:{bot.port}", tmp_path,
                  ["-s", "employai"], timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + "\n".join(
        p.read_text(errors="replace")[-3000:] for p in tmp_path.glob("*_errors.log"))
    return bot.calls()[-1]


@pytest.mark.parametrize("header, referrer", [
    ('Diversion: <sip:bob@127.0.0.1:5997>;reason=unconditional;counter=1', "Bob in sales"),
    ('Referred-By: "Alice Jones" <sip:alice@127.0.0.1>', "Alice Jones"),
])
def test_a_caller_transferred_in_is_greeted_with_who_sent_them(pbx_bot, tmp_path, header, referrer):
    record = _call(pbx_bot, tmp_path, caller_scenario(pause(11000), headers=header))
    assert referrer in record["transferred_from"], record["transferred_from"]
    greeting = pbx_bot.turns(record["id"])[0]
    assert greeting["role"] == "bot" and f"I understand {referrer} passed you over" in greeting["text"]


def test_put_me_through_to_sales_is_a_refer_to_the_directory_entry(pbx_bot, tmp_path, say):
    pcap = _speech_pcap(say, "Put me through to sales, please.", tmp_path / "sales.pcap", lead_s=6.0)
    scenario = caller_scenario(play_pcap(pcap) + take_refer(r"sip:sales@127\.0\.0\.1:5999"), bot_hangs_up=True)
    record = _call(pbx_bot, tmp_path, scenario)
    assert record["end_reason"] == "transferred"
    assert record["transferred_to"].startswith("Sales <sip:sales@127.0.0.1:5999> (joined 200")
    said = [t["text"] for t in pbx_bot.turns(record["id"]) if t["role"] == "bot"]
    assert any("put you through to Sales" in t for t in said), said


def test_a_number_outside_the_directory_is_refused(pbx_bot, tmp_path, say):
    pcap = _speech_pcap(say, "Put me through to 555 0199.", tmp_path / "number.pcap", lead_s=6.0)
    # Any REFER here would be an unexpected message, and SIPp would fail the call.
    record = _call(pbx_bot, tmp_path, caller_scenario(play_pcap(pcap) + pause(16000)))
    said = [t["text"] for t in pbx_bot.turns(record["id"]) if t["role"] == "bot"]
    assert any("I can only put you through to Sales" in t for t in said), said
    assert record["transferred_to"] is None


@pytest.mark.parametrize("method", ["rfc4733", "sip_info"])
def test_a_key_shortcut_transfers_to_the_operator(pbx_bot, tmp_path, method):
    if method == "rfc4733":
        shutil.copy("/usr/share/sip-tester/dtmf_2833_0.pcap", tmp_path / "dtmf0.pcap")
        key = play_pcap(tmp_path / "dtmf0.pcap")
    else:
        key = dtmf_info("0")
    scenario = caller_scenario(pause(2000) + key + take_refer(r"sip:operator@127\.0\.0\.1:5998"), bot_hangs_up=True)
    record = _call(pbx_bot, tmp_path, scenario)
    assert record["end_reason"] == "transferred" and record["transferred_to"].startswith("Operator")


def test_pcap_writer_makes_what_sipp_plays(tmp_path):
    """The pcap writer's G.711 is the standard one (checked against a known encoding)."""
    from .rtp_pcap import ulaw_encode

    assert ulaw_encode(np.array([0, -1, 1, 1000, -1000, 32767, -32768], dtype=np.int16)) == bytes(
        [0xFF, 0x7E, 0xFF, 0xCE, 0x4E, 0x80, 0x00])  # as audioop.lin2ulaw


def test_an_attended_transfer_introduces_the_caller_then_joins_them_with_replaces(pbx_bot, tmp_path):
    carol = SippServer(write(tmp_path / "carol.xml", callee_scenario("answer", ring_ms=500)), tmp_path,
                       port=CAROL_PORT)
    refer_to = rf"sip:callee@127\.0\.0\.1:{CAROL_PORT}.*Replaces="
    scenario = caller_scenario(pause(2000) + dtmf_info("9") + take_refer(refer_to, timeout_ms=60000),
                               bot_hangs_up=True)
    record = _call(pbx_bot, tmp_path, scenario, timeout=90)
    rc, out = carol.wait(60)
    assert rc == 0, out  # Carol was called, answered, and the bot's leg to her ended afterwards
    assert record["end_reason"] == "transferred" and "(joined 200" in record["transferred_to"]


def test_when_the_colleague_does_not_answer_the_bot_takes_a_message(pbx_bot, tmp_path, say):
    carol = SippServer(write(tmp_path / "carol.xml", callee_scenario("no_answer")), tmp_path, port=CAROL_PORT)
    message = _speech_pcap(say, "Please ask her to call me about the boiler.", tmp_path / "msg.pcap", lead_s=13.0)
    yes = _speech_pcap(say, "Yes, that's all correct.", tmp_path / "yes.pcap", lead_s=0.5)
    # The message said straight away; the read-back of the message form (for Carol, the message, the caller's own
    # number) answered with a yes.
    scenario = caller_scenario(pause(2000) + dtmf_info("9") + play_pcap(message) + pause(32000) + play_pcap(yes)
                               + pause(14000))
    record = _call(pbx_bot, tmp_path, scenario, timeout=120)
    assert carol.wait(30)[0] == 0
    said = [t["text"] for t in pbx_bot.turns(record["id"]) if t["role"] == "bot"]
    assert any("Carol isn't answering" in t for t in said), said
    assert any("Carol" in t and "boiler" in t and "correct?" in t for t in said), said  # read back for a yes
    assert any("get your message" in t for t in said), said
    assert "(no_answer" in record["transferred_to"] and record["end_reason"] != "transferred"
    with pbx_bot.db() as db:
        forms = [r[0] for r in db.execute("SELECT details FROM followups WHERE kind = 'form' AND call_id = ?",
                                          (record["id"],))]
    assert len(forms) == 1 and "Carol" in forms[0] and "boiler" in forms[0], forms
