"""SIP behaviour against SIPp (Debian's sip-tester) over loopback: refusals, malformed input, shutdown."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from speech.pcm import read_wav

from .peers import baresip_call, sipp, start_bot, to_phone_wav

pytestmark = pytest.mark.sip

SCENARIOS = Path(__file__).parent / "sipp"


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
