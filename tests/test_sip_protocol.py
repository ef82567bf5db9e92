"""SIP behaviour of the real bot against SIPp (Debian's sip-tester) and raw UDP over loopback: refusals,
malformed and torture input, REFER, a flood from one source, shutdown.

The bot trusts 127.0.0.1 only; 127.0.0.2 and up are other sources (Linux answers all of 127.0.0.0/8)."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from speech.pcm import read_wav

from .peers import baresip_call, sipp, start_bot, to_phone_wav
from .sip_lab import SipPeer
from .sip_torture import TORTURES
from .sipp_scenarios import caller_scenario, pause, refer_from_caller, write

pytestmark = pytest.mark.sip

SCENARIOS = Path(__file__).parent / "sipp"


@pytest.fixture(scope="module")
def bot(tmp_path_factory):
    """One real bot for the module, trusting 127.0.0.1 only, at most two calls at once from one other source."""
    for tool in ("baresip", "sipp", "sox"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: `make test` installs the Debian test peers")
    process = start_bot(tmp_path_factory.mktemp("bot"),
                        sip_toml='trusted_proxies = ["127.0.0.1"]\nmax_calls_per_source = 2\n')
    yield process
    process.stop()


def _run(bot, scenario: str, tmp_path: Path):
    target = f"127.0.0.1:{bot.port}"
    result = sipp(SCENARIOS / f"{scenario}.xml", target, tmp_path, ["-s", "employai"], timeout=15)
    assert result.returncode == 0, f"{scenario}: sipp exit {result.returncode}\n{result.stdout[-2000:]}"


def test_offer_without_a_usable_codec_gets_488(bot, tmp_path):
    _run(bot, "invite_gsm_only", tmp_path)
    _run(bot, "options", tmp_path)  # still serving


def test_malformed_requests_get_400_and_the_bot_keeps_serving(bot, tmp_path):
    _run(bot, "malformed_invite", tmp_path)
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:  # not SIP at all
        s.sendto(b"\x00\xffgarbage\r\n\r\nnot a SIP message", ("127.0.0.1", bot.port))
    _run(bot, "options", tmp_path)
    assert bot.proc.poll() is None


def _options_answered(bot, peer: SipPeer, n: int) -> bool:
    peer.send_raw(f"OPTIONS sip:employai@127.0.0.1:{bot.port} SIP/2.0\r\n"
                  f"Via: SIP/2.0/UDP {peer.local};branch=z9hG4bK-alive-{n};rport\r\n"
                  f"From: <sip:probe@{peer.local}>;tag=a{n}\r\nTo: <sip:employai@127.0.0.1>\r\n"
                  f"Call-ID: alive-{n}@lab\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
                  ("127.0.0.1", bot.port))
    answer = peer.receive(5, lambda m: m.header("call-id") == f"alive-{n}@lab" and m.status >= 200)
    return answer is not None and answer.status == 200


def test_torture_messages_get_their_answers_and_the_bot_keeps_serving(bot, tmp_path):
    peer = SipPeer("127.0.0.1")
    wrong = []
    for n, torture in enumerate(TORTURES):
        peer.send_raw(torture.render(f"127.0.0.1:{bot.port}", peer.local, n), ("127.0.0.1", bot.port))
        answer = peer.receive(0.6, lambda m, n=n: m.status >= 200 and f"torture-{n}@lab" in m.header("call-id"))
        if (answer.status if answer else None) not in torture.allowed:
            wrong.append((torture.name, answer.first_line if answer else "no answer"))
        assert _options_answered(bot, peer, n), f"the bot stopped answering after {torture.name}"
    peer.close()
    assert wrong == []
    # Empty transfer headers and a long display name on a real call: answered, and the next call too.
    headers = "Diversion:\nReferred-By:\nHistory-Info: <>\nP-Asserted-Identity: <sip:+15550199@127.0.0.1>"
    long_name = caller_scenario(pause(500), headers=headers).replace('"Test Caller"', '"' + "N" * 2500 + '"', 1)
    result = sipp(write(tmp_path / "long.xml", long_name), f"127.0.0.1:{bot.port}", tmp_path, ["-s", "employai"],
                  timeout=20)
    assert result.returncode == 0, result.stdout[-2000:]
    _run(bot, "options", tmp_path)
    assert bot.proc.poll() is None and "Traceback" not in bot.log()


def test_refer_from_a_caller_is_declined_and_nothing_is_dialled(bot, tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as trap:
        trap.bind(("127.0.0.1", 0))
        trap.settimeout(3)
        target = f"sip:19005550123@127.0.0.1:{trap.getsockname()[1]}"
        scenario = caller_scenario(pause(1000) + refer_from_caller(target) + pause(500))
        result = sipp(write(tmp_path / "refer.xml", scenario), f"127.0.0.1:{bot.port}", tmp_path,
                      ["-s", "employai"], timeout=20)
        assert result.returncode == 0, f"the REFER was not declined with 603:\n{result.stdout[-2000:]}"
        with pytest.raises(TimeoutError):
            trap.recvfrom(4096)  # nothing was sent to the Refer-To URI


def test_a_flood_from_one_source_leaves_the_bot_serving_another(bot, tmp_path):
    """SIPp's built-in caller from 127.0.0.3: 300 INVITEs at 100 a second, up to 100 at once (the crash of
    issue 8 was 60 at once). Then a caller from 127.0.0.2 is answered."""
    flood = subprocess.run(
        ["sipp", "-sn", "uac", f"127.0.0.1:{bot.port}", "-s", "employai", "-i", "127.0.0.3", "-p", "0",
         "-m", "300", "-r", "100", "-l", "100", "-d", "1000", "-timeout", "60s", "-timeout_error", "-nostdin",
         "-trace_err"], cwd=tmp_path, capture_output=True, text=True, timeout=90)
    errors = "".join(p.read_text(errors="replace") for p in tmp_path.glob("*_errors.log"))
    assert bot.proc.poll() is None, f"the flood killed the bot:\n{bot.log()[-3000:]}"
    statuses = re.findall(r"received 'SIP/2.0 (\d{3})", errors)
    assert "503" in statuses, f"no 503 for the flooder: {sorted(set(statuses))}\n{flood.stdout[-1500:]}"
    assert errors.count("Retry-After: 30") == statuses.count("503"), "a 503 without Retry-After"
    legit = subprocess.run(
        ["sipp", "-sn", "uac", f"127.0.0.1:{bot.port}", "-s", "employai", "-i", "127.0.0.2", "-p", "0", "-m", "1",
         "-d", "500", "-timeout", "30s", "-timeout_error", "-nostdin"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert legit.returncode == 0, f"the caller after the flood was not answered:\n{legit.stdout[-2000:]}"
    log = bot.log()
    assert "Assertion" not in log and "AttributeError" not in log and "Traceback" not in log, log[-3000:]


def test_sigterm_says_goodbye_hangs_up_and_exits_cleanly(tmp_path, say, transcriber):
    bot = start_bot(tmp_path / "bot")
    question = to_phone_wav(say("What are your opening hours?"), tmp_path / "q.wav", 5, 20)
    heard: list[Path] = []
    caller = threading.Thread(target=lambda: heard.append(baresip_call(bot.uri, question, tmp_path / "bs", 30)))
    caller.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(t["role"] == "caller" for c in bot.calls()
                                                   for t in bot.turns(c["id"])):
        time.sleep(0.2)
    started = time.monotonic()
    assert bot.stop(timeout=20) == 0
    assert time.monotonic() - started < 15
    caller.join(40)
    assert "Traceback" not in bot.log()
    call = bot.calls()[-1]
    assert call["end_reason"] == "shutdown" and call["ended_at"] is not None
    assert heard, "baresip did not finish"
    text = transcriber.transcribe(read_wav(heard[0]).tobytes()).text.lower()
    assert "have to go" in text, text
    assert "terminated" in (tmp_path / "bs" / "baresip.log").read_text()
