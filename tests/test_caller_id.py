"""Caller ID is a claim, not an identity, on real calls: Kamailio is the trusted proxy (at its own loopback address,
127.0.0.5); callers who reach the bot any other way are unknown, whatever their From or P-Asserted-Identity say,
until they give the PIN of the number they claim."""

from __future__ import annotations

import shutil

import pytest

from speech.pcm import read_wav

from .pbx import Kamailio, registration_toml
from .peers import baresip_call, sipp, start_bot, to_phone_wav
from .rtp_pcap import write_pcmu_pcap
from .sipp_scenarios import caller_scenario, dtmf_info, pause, play_pcap, write

pytestmark = pytest.mark.sip

ALICE = "+15550101"
PROXY = "127.0.0.5"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    for tool in ("baresip", "sipp", "kamailio"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: `make test` installs the Debian test peers")
    kamailio = Kamailio(tmp_path_factory.mktemp("kamailio"), address=PROXY)
    bot = start_bot(tmp_path_factory.mktemp("bot"), registration_toml(kamailio.registrar),
                    sip_toml=f'trusted_proxies = ["{PROXY}"]')
    try:
        yield bot, f"sip:employai@{PROXY}:{kamailio.port}"
    finally:
        bot.stop()
        kamailio.stop()
        assert "Traceback" not in bot.log()


def _bot_texts(bot, call) -> list[str]:
    return [t["text"] for t in bot.turns(call["id"]) if t["role"] == "bot"]


def _wait_registered(bot) -> None:
    import time

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if "registered" in bot.cli("status").stdout.split("registration:", 1)[-1].split("\n", 1)[0]:
            return
        time.sleep(0.3)
    raise AssertionError(bot.cli("status").stdout)


def test_only_a_trusted_proxy_vouches_for_caller_id_and_a_pin_proves_it(setup, tmp_path, say):
    bot, through_proxy = setup
    _wait_registered(bot)
    # 1. Alice calls through the trusted proxy: she is who her caller ID says, and she is remembered.
    intro = to_phone_wav(say("Hi, this is Alice Martin, my order number is 4471."), tmp_path / "1.wav", 5, 7)
    baresip_call(through_proxy, intro, tmp_path / "alice", seconds=19, user=ALICE)
    alice_call = bot.calls()[-1]
    assert alice_call["identity_verified"] == 1 and alice_call["caller_user"] == ALICE, dict(alice_call)
    assert "4471" in bot.cli("memory", "show", ALICE).stdout

    # 2. Someone calls the bot directly with Alice's number in From: a claim. Not greeted by name, not told her
    #    order number; asked for a PIN instead. Her memory is not theirs to read or to write.
    ask = to_phone_wav(say("What's my order number?"), tmp_path / "2.wav", 6, 8)
    heard = baresip_call(bot.uri, ask, tmp_path / "spoof", seconds=20, user=ALICE)
    call = bot.calls()[-1]
    texts = _bot_texts(bot, call)
    assert call["identity_verified"] == 0 and call["caller_user"] == "" and call["claimed_user"] == ALICE
    assert "Alice" not in texts[0] and not any("4471" in t for t in texts), texts
    assert any("PIN" in t for t in texts[1:]), texts
    assert len(read_wav(heard)) > 0

    # 3. The same with a P-Asserted-Identity: from an untrusted source it is a claim too.
    scenario = caller_scenario(pause(9000), headers=f"P-Asserted-Identity: <sip:{ALICE}@127.0.0.1>", caller="x")
    result = sipp(write(tmp_path / "pai.xml", scenario), f"127.0.0.1:{bot.port}", tmp_path, ["-s", "employai"])
    assert result.returncode == 0, result.stdout[-2000:]
    call = bot.calls()[-1]
    assert call["identity_verified"] == 0 and "Alice" not in _bot_texts(bot, call)[0]

    # 4. Alice sets a PIN (operator command here; on a verified call she can also say "set my PIN"); a caller who
    #    claims her number and keys that PIN is then Alice, on this call.
    assert bot.cli("memory", "pin", ALICE, "--pin-stdin", input="2580\n").returncode == 0
    question = write_pcmu_pcap(read_wav(say("Can you remind me of my order number?"), rate=8000),
                               tmp_path / "q.pcap", lead_silence_s=6.0)
    keys = "".join(dtmf_info(d, caller=ALICE, cseq=2 + i) + pause(150) for i, d in enumerate("2580#"))
    scenario = caller_scenario(play_pcap(question) + pause(21000) + keys + pause(9000), caller=ALICE)
    result = sipp(write(tmp_path / "pin.xml", scenario), f"127.0.0.1:{bot.port}", tmp_path, ["-s", "employai"],
                  timeout=60)
    assert result.returncode == 0, result.stdout[-2000:]
    call = bot.calls()[-1]
    texts = _bot_texts(bot, call)
    assert call["identity_verified"] == 1 and call["caller_user"] == ALICE, (dict(call), texts)
    assert any("Thank you, Alice" in t and "confirmed" in t for t in texts), texts
    caller_turns = [t["text"] for t in bot.turns(call["id"]) if t["role"] == "caller"]
    assert not any("2580" in t for t in caller_turns), caller_turns  # the PIN is never stored
