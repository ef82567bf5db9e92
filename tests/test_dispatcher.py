"""Two bots behind Kamailio's dispatcher (sip_config/kamailio/dispatcher.cfg), all real processes on loopback:
calls are shared between the bots; a bot killed with SIGKILL is passed over (health-checked with OPTIONS every
second, and a call it does not answer goes to the other bot); restarted on its data, it closes the call it was
cut off in as interrupted."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from employai.harness.eval_hearing import flite
from speech.pcm import write_wav

from .pbx import DISPATCHER_CFG, Kamailio
from .peers import free_port, start_bot

pytestmark = [pytest.mark.sip, pytest.mark.timeout(420)]

PROXY = "127.0.0.8"  # the dispatcher's own address
PING_S = 1
# Not a trusted proxy (it authenticates no caller: caller ID stays a claim); every call's source, so it may hold
# every line of a bot.
BOT_SIP = "trusted_proxies = []\nmax_calls_per_source = 3"


def _dial(uri: str, wavs: list[Path], workdir: Path, tag: str, timeout: float = 60) -> list[dict] | None:
    """One call through the proxy; the turns' results, or None if it was not answered."""
    cmd = [sys.executable, "-m", "employai", "dial", uri, "--record", str(workdir / f"{tag}.wav"),
           "--port", str(free_port()), "--codec", "PCMU", "--timeout", str(timeout), "--json"]
    for wav in wavs:
        cmd += ["--play", str(wav)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 30, stdin=subprocess.DEVNULL)
    lines = [line for line in out.stdout.splitlines() if line.startswith("[")]
    return json.loads(lines[-1]) if lines else None


def _open_calls(bot) -> list:
    return [c for c in bot.calls() if c["end_reason"] is None]


def test_calls_are_shared_and_a_dead_bot_is_passed_over_then_closes_its_cut_off_call(tmp_path):
    if shutil.which("kamailio") is None or shutil.which("flite") is None:
        pytest.fail("kamailio or flite is missing: `make test` installs the Debian test peers")
    question = tmp_path / "question.wav"
    write_wav(question, flite("What are your opening hours?", "awb", tmp_path / "flite"))
    ports = {"a": free_port(), "b": free_port()}
    listing = tmp_path / "dispatcher.list"
    listing.write_text("".join(f"1 sip:127.0.0.1:{port}\n" for port in ports.values()))
    bots = {name: start_bot(tmp_path / name, sip_toml=BOT_SIP, port=port) for name, port in ports.items()}
    proxy = Kamailio(tmp_path / "kamailio", address=PROXY, cfg=DISPATCHER_CFG,
                     defines={"DS_LIST": f'"{listing}"', "PING_S": str(PING_S)})
    uri = f"sip:employai@{PROXY}:{proxy.port}"
    held: list = []
    callers: list[threading.Thread] = []
    try:
        time.sleep(2 * PING_S)  # both bots answered an OPTIONS
        for i in range(4):
            assert _dial(uri, [question], tmp_path, f"shared-{i}") is not None, proxy.log()[-3000:]
        taken = {name: len(bot.calls()) for name, bot in bots.items()}
        assert taken["a"] >= 1 and taken["b"] >= 1, taken  # round robin: both bots take calls
        assert not any(c["identity_verified"] for bot in bots.values() for c in bot.calls())  # a claim, not an ID

        # A call held on bot A (round robin: at most two tries land one there), then A is killed.
        for i in range(3):
            thread = threading.Thread(target=lambda i=i: held.append(
                _dial(uri, [question] * 4, tmp_path, f"held-{i}", timeout=30)))
            thread.start()
            callers.append(thread)
            deadline = time.monotonic() + 30
            while not (_open_calls(bots["a"]) or _open_calls(bots["b"])) or len(
                    _open_calls(bots["a"]) + _open_calls(bots["b"])) < i + 1:
                assert time.monotonic() < deadline, "the held call was not answered"
                time.sleep(0.1)
            if _open_calls(bots["a"]):
                break
        cut_off = _open_calls(bots["a"])
        assert cut_off, "no call landed on bot A"
        bots["a"].proc.kill()
        bots["a"].proc.wait(10)
        killed_at = time.monotonic()

        # New calls reach bot B: the one OPTIONS A leaves unanswered takes it out, and a call sent to it
        # meanwhile goes on to B when A does not answer.
        before_b = len(bots["b"].calls())
        reached = []
        for i in range(3):
            assert _dial(uri, [question], tmp_path, f"after-kill-{i}") is not None, proxy.log()[-3000:]
            reached.append(time.monotonic() - killed_at)
        assert len(bots["b"].calls()) == before_b + 3

        # Bot A comes back on its own data: the call it was cut off in is closed, as interrupted.
        bots["a"] = start_bot(tmp_path / "a", sip_toml=BOT_SIP, port=ports["a"])
        record = next(c for c in bots["a"].calls() if c["id"] == cut_off[0]["id"])
        assert record["end_reason"] == "interrupted", dict(record)
    finally:
        for thread in callers:
            thread.join(60)
        proxy.stop()
        for bot in bots.values():
            if bot.proc.poll() is None:
                bot.stop()
