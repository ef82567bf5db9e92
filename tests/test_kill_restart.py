"""`kill -9` mid-call, then a restart on the same data directory: the cut-off call's record is closed with its own
end reason ('interrupted', at its last turn), and the turns written before the kill are all still there."""

from __future__ import annotations

import subprocess
import time

import pytest

from .peers import free_udp_port, start_bot
from .sipp_scenarios import caller_scenario, pause, write

pytestmark = [pytest.mark.sip, pytest.mark.timeout(90)]


def _waiting_caller(target: str, workdir) -> subprocess.Popen:
    """SIPp calls `target`, stays on the line in silence for a minute and would then hang up."""
    scenario = write(workdir / "waits.xml", caller_scenario(middle=pause(60000), caller="+15550123"))
    cmd = ["sipp", "-sf", str(scenario), target, "-m", "1", "-i", "127.0.0.1", "-p", str(free_udp_port()),
           "-mp", str(free_udp_port()), "-nostdin", "-timeout", "80s"]
    return subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_a_call_cut_off_by_kill_9_is_closed_as_interrupted_on_restart(tmp_path):
    workdir = tmp_path / "bot"
    bot = start_bot(workdir)
    caller = _waiting_caller(f"127.0.0.1:{bot.port}", tmp_path)
    try:
        deadline = time.monotonic() + 30
        turns: list = []
        while time.monotonic() < deadline and not turns:  # the greeting has been played and recorded
            calls = bot.calls()
            turns = bot.turns(calls[0]["id"]) if calls else []
            time.sleep(0.2)
        assert turns, f"no turn was recorded:\n{bot.log()[-3000:]}"
        call = bot.calls()[0]
        assert call["ended_at"] is None and call["end_reason"] is None  # in progress
        before = [(t["role"], t["text"], t["created_at"]) for t in bot.turns(call["id"])]
        bot.proc.kill()  # SIGKILL: no goodbye, no BYE, nothing closed
        bot.proc.wait(10)
    finally:
        caller.kill()
        caller.wait(10)
        if bot.proc.poll() is None:
            bot.proc.kill()
    assert bot.calls()[0]["ended_at"] is None  # the record is left open by the kill

    again = start_bot(workdir)  # the same workdir writes the same data directory
    try:
        assert again.db_path == bot.db_path
        closed = again.calls()[0]
        after = [(t["role"], t["text"], t["created_at"]) for t in again.turns(closed["id"])]
        assert closed["end_reason"] == "interrupted"
        assert closed["ended_at"] == max(at for _, _, at in after)  # closed at its last turn, not at the restart
        assert after == before  # every turn written before the kill is kept
        assert "calls interrupted by the last run's end were closed" in again.log()
    finally:
        again.stop()
