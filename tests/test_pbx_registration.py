"""The bot as a PBX extension: it registers to Kamailio (digest auth, the project's own Kamailio config), is
reached through it, unregisters on shutdown; a wrong password is a clear error; a registrar that goes away does
not take the bot down."""

from __future__ import annotations

import json
import shutil
import time

import pytest

from .pbx import Kamailio, registration_toml
from .peers import free_port, sipp, start_bot
from .sipp_scenarios import caller_scenario, pause, write

pytestmark = pytest.mark.sip


@pytest.fixture
def kamailio(tmp_path):
    if shutil.which("kamailio") is None:
        pytest.fail("kamailio is missing: `make test` installs the Debian test peers")
    server = Kamailio(tmp_path / "kamailio")
    yield server
    server.stop()


def _status(bot) -> dict:
    return json.loads((bot.db_path.parent / "status.json").read_text())


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_registers_with_digest_auth_is_reached_through_kamailio_and_unregisters(kamailio, tmp_path):
    bot = start_bot(tmp_path / "bot", registration_toml(kamailio.registrar))
    try:
        _wait_for(lambda: _status(bot)["registration"]["state"] == "registered", 20, "registration")
        status = bot.cli("status")
        assert status.returncode == 0 and "registration: registered as sip:employai@127.0.0.1" in status.stdout
        # A caller dials the extension at the registrar: Kamailio finds the bot's contact and relays.
        call = write(tmp_path / "call.xml", caller_scenario(pause(3000)))
        result = sipp(call, f"127.0.0.1:{kamailio.port}", tmp_path, ["-s", "employai"], timeout=30)
        assert result.returncode == 0, result.stdout[-3000:]
        calls = bot.calls()
        assert len(calls) == 1 and calls[0]["caller_user"] == "+15550123"
    finally:
        assert bot.stop() == 0
    assert _status(bot)["registration"]["state"] == "unregistered"
    # Unregistered: the registrar no longer knows where the extension is.
    gone = write(tmp_path / "gone.xml", caller_scenario().replace('<recv response="200" rrs="true"/>',
                                                                   '<recv response="404"/>').split("<send>\n")[0]
                 + "</scenario>\n")
    result = sipp(gone, f"127.0.0.1:{kamailio.port}", tmp_path, ["-s", "employai"], timeout=15)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Traceback" not in bot.log()


def test_a_wrong_password_is_a_clear_error_and_the_bot_keeps_answering(kamailio, tmp_path):
    bot = start_bot(tmp_path / "bot", registration_toml(kamailio.registrar, password="not-the-password"))
    try:
        reg = _wait_for(lambda: (r := _status(bot)["registration"])["state"] == "failed" and r, 20, "the failure")
        assert reg["code"] in (401, 403) and "refused" in reg["problem"] and "registration.password" in reg["problem"]
        assert "registration failed" in bot.log()
        status = bot.cli("status")
        assert "registration: failed" in status.stdout and "registration.password" in status.stdout
        call = write(tmp_path / "call.xml", caller_scenario(pause(1000)))
        result = sipp(call, f"127.0.0.1:{bot.port}", tmp_path, ["-s", "employai"], timeout=30)  # dialled directly
        assert result.returncode == 0, result.stdout[-3000:]
    finally:
        assert bot.stop() == 0
    assert "Traceback" not in bot.log()


def test_credentials_are_given_to_the_configured_realm_only(kamailio, tmp_path):
    """The right password, but Kamailio challenges in its own realm (employai.test) and the bot is told another:
    it must not answer that challenge (with realm "*" it would have, and registered)."""
    bot = start_bot(tmp_path / "bot", registration_toml(kamailio.registrar, realm="pbx.elsewhere.example"))
    try:
        reg = _wait_for(lambda: (r := _status(bot)["registration"])["state"] == "failed" and r, 20, "the failure")
        assert reg["code"] == 401, reg  # challenged, and no credentials sent (wrong ones would get 403)
        assert "REGISTER with a wrong password" not in kamailio.log()
        time.sleep(2.5)  # the first retries: still not registered
        assert _status(bot)["registration"]["state"] != "registered"
    finally:
        assert bot.stop() == 0


def test_a_registrar_that_goes_away_does_not_take_the_bot_down(kamailio, tmp_path):
    bot = start_bot(tmp_path / "bot", registration_toml(kamailio.registrar, expiry_s=10))
    try:
        _wait_for(lambda: _status(bot)["registration"]["state"] == "registered", 20, "registration")
        kamailio.stop()
        time.sleep(8)  # the refresh (due before the 10 s expiry) goes unanswered
        call = write(tmp_path / "call.xml", caller_scenario(pause(1000)))
        result = sipp(call, f"127.0.0.1:{bot.port}", tmp_path, ["-s", "employai"], timeout=30)
        assert result.returncode == 0, result.stdout[-3000:]
        assert bot.proc.poll() is None
    finally:
        assert bot.stop(timeout=30) == 0
    assert "Traceback" not in bot.log()


def test_a_registrar_that_is_down_at_start_is_retried_with_back_off_until_it_answers(tmp_path):
    port = free_port()
    # Over TCP a registrar that is down refuses the connection at once, so the retries can be watched in seconds
    # (over UDP each unanswered REGISTER takes the 32 s transaction timeout).
    bot = start_bot(tmp_path / "bot", registration_toml(f"sip:127.0.0.1:{port};transport=tcp"))
    kamailio = None
    try:
        reg = _wait_for(lambda: (r := _status(bot)["registration"])["failures"] >= 3 and r, 30, "three failures")
        assert reg["state"] in ("failed", "registering") and "did not answer" in reg["problem"], reg
        assert reg["retry_in_s"] == 4  # retry_s 1, doubled: 1, 2, 4 (retry_max_s 4)
        status = bot.cli("status")
        assert "registration: failed" in status.stdout or "registration: registering" in status.stdout
        assert bot.proc.poll() is None
        # Direct calls are answered meanwhile.
        call = write(tmp_path / "call.xml", caller_scenario(pause(1000)))
        result = sipp(call, f"127.0.0.1:{bot.port}", tmp_path, ["-s", "employai"], timeout=30)
        assert result.returncode == 0, result.stdout[-3000:]
        # The registrar comes up: the next retry registers, and callers reach the bot through it.
        kamailio = Kamailio(tmp_path / "kamailio", port=port, tcp=True)
        reg = _wait_for(lambda: (r := _status(bot)["registration"])["state"] == "registered" and r, 20,
                        "registration once the registrar is up")
        assert reg["failures"] == 0 and reg["problem"] == ""
        result = sipp(call, f"127.0.0.1:{kamailio.port}", tmp_path, ["-s", "employai"], timeout=30)
        assert result.returncode == 0, result.stdout[-3000:]
        assert len(bot.calls()) == 2
    finally:
        assert bot.stop() == 0
        if kamailio is not None:
            kamailio.stop()
    assert "Traceback" not in bot.log()
