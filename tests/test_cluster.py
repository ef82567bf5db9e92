"""Two bots on one PostgreSQL database, behind Kamailio's dispatcher (sip_config/kamailio/dispatcher.cfg with
WITH_AUTH), all real processes on loopback:
- ten scheduled calls due at the same moment, both bots polling the schedule: each is placed exactly once;
- a caller who gave their name and a number on a call that bot A answered is greeted by name and told the number
  when the next call lands on bot B; the proxy authenticates callers (digest), so the bots trust it for caller ID,
  and a caller who cannot answer the challenge for that number reaches no bot at all.

(The dispatcher's failover after a SIGKILL, with caller ID left a claim, is tests/test_dispatcher.py.)"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from memory.transcripts import TranscriptStore

from .pbx import DISPATCHER_CFG, Kamailio, SippServer
from .peers import baresip_call, free_port, free_udp_port, start_bot, to_phone_wav
from .sipp_scenarios import callee_scenario, write
from .test_memory_e2e import _one_after_another

pytestmark = [pytest.mark.sip, pytest.mark.timeout(600)]

PROXY = "127.0.0.9"  # the dispatcher's own address (test_dispatcher.py uses .8)
PING_S = 1
ALICE, PASSWORD = "+15550101", "violet-lantern-42"
CALLS = 10

OUTBOUND = """
[outbound]
calling_hours = "00:00-24:00"
calling_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
max_attempts = 1
ring_timeout_s = 10

[call]
silence_prompt_s = 4.0
silence_hangup_s = 9.0
"""


@dataclass
class Cluster:
    url: str
    bots: dict
    ports: dict
    toml: str
    sip_toml: str
    uri: str
    proxy: Kamailio
    root: Path

    def store(self) -> TranscriptStore:
        return TranscriptStore(self.url)

    def restart(self, name: str) -> None:
        self.bots[name] = start_bot(self.root / name, self.toml, sip_toml=self.sip_toml, port=self.ports[name],
                                    data_url=self.url)

    def stop(self, name: str) -> None:
        assert self.bots[name].stop() == 0


def _subscribers(folder: Path) -> Path:
    """Kamailio's smallest database: a db_text directory with the caller allowed to use ALICE's number."""
    folder.mkdir(parents=True)
    (folder / "version").write_text("id(int,auto) table_name(string) table_version(int) \n0:subscriber:7\n")
    (folder / "subscriber").write_text("id(int,auto) username(string) domain(string) password(string) "
                                       f"ha1(string,null) ha1b(string,null) \n1:{ALICE}:127.0.0.1:{PASSWORD}::\n")
    return folder


@pytest.fixture(scope="module")
def cluster(postgres, tmp_path_factory):
    if shutil.which("kamailio") is None or shutil.which("sipp") is None or shutil.which("baresip") is None:
        pytest.fail("kamailio, sipp or baresip is missing: `make test` installs the Debian test peers")
    root = tmp_path_factory.mktemp("cluster")
    url = postgres.fresh_url()
    toml = OUTBOUND
    # The proxy authenticates callers and writes P-Asserted-Identity: trusted for caller ID (and for load).
    sip_toml = f'trusted_proxies = ["{PROXY}"]'
    ports = {"a": free_port(), "b": free_port()}
    listing = root / "dispatcher.list"
    listing.write_text("".join(f"1 sip:127.0.0.1:{port}\n" for port in ports.values()))
    bots = {name: start_bot(root / name, toml, sip_toml=sip_toml, port=port, data_url=url)
            for name, port in ports.items()}
    proxy = Kamailio(root / "kamailio", address=PROXY, cfg=DISPATCHER_CFG,
                     defines={"DS_LIST": f'"{listing}"', "PING_S": str(PING_S), "WITH_AUTH": "",
                              "AUTH_DB": f'"text://{_subscribers(root / "kamailio-db")}"'})
    cluster = Cluster(url, bots, ports, toml, sip_toml, f"sip:employai@{PROXY}:{proxy.port}", proxy, root)
    yield cluster
    proxy.stop()
    for bot in cluster.bots.values():
        if bot.proc.poll() is None:
            bot.stop()


def test_ten_scheduled_calls_due_at_once_are_each_placed_once_by_two_bots(cluster, tmp_path):
    port = free_udp_port()
    callee = SippServer(write(tmp_path / "callee.xml", callee_scenario("answer", ring_ms=200)), tmp_path,
                        calls=CALLS + 1, timeout_s=120, port=port)  # one more than due: an extra call shows
    store = cluster.store()
    try:
        due = time.time() + 4  # both bots are polling the schedule
        ids = [store.schedule.add(f"sip:+1555020{i:02d}@127.0.0.1:{port}", f"remind them of visit {i}", due, 1)
               for i in range(CALLS)]
        deadline = time.monotonic() + 150
        while any(store.schedule.get(i).status in ("pending", "calling") for i in ids):
            assert time.monotonic() < deadline, [store.schedule.get(i) for i in ids]
            time.sleep(1)
        attempts = {i: store.schedule.attempts(i) for i in ids}
        assert all(len(a) == 1 for a in attempts.values()), attempts  # each claimed by exactly one bot, once
        assert all(a[0]["outcome"] == "answered" for a in attempts.values()), attempts
        outbound = [c for c in store.calls() if c["direction"] == "outbound"]
        assert len(outbound) == CALLS and len({c["remote_uri"] for c in outbound}) == CALLS
        time.sleep(3)  # an eleventh INVITE, had any call been placed twice, would be answered by now
        assert callee.proc.poll() is None  # SIPp still waits for its eleventh call: it got exactly ten
    finally:
        callee.proc.kill()
        callee.wait(5)
        store.close()


def test_a_caller_remembered_by_bot_a_is_greeted_by_name_on_bot_b(cluster, say, tmp_path):
    uri = cluster.uri
    cluster.stop("b")  # the first call can only land on bot A
    time.sleep(2 * PING_S)
    both = _one_after_another(say("Hi, this is Alice Martin, my order number is 4471."), say("Yes, that's right."),
                              pause_s=7.0, out=tmp_path / "1-both.wav")
    baresip_call(uri, to_phone_wav(both, tmp_path / "1.wav", 5, 7), tmp_path / "call1", seconds=28, user=ALICE,
                 password=PASSWORD)
    store = cluster.store()
    try:
        first = store.calls()[-1]
        assert first["caller_user"] == ALICE and first["identity_verified"], first  # asserted by the proxy
        assert store.caller_memory(ALICE).known("name"), "bot A remembered no name"

        cluster.restart("b")
        cluster.stop("a")  # the next call can only land on bot B
        time.sleep(2 * PING_S)
        ask = to_phone_wav(say("What's my order number?"), tmp_path / "2.wav", 6, 7)
        baresip_call(uri, ask, tmp_path / "call2", seconds=19, user=ALICE, password=PASSWORD)
        second = store.calls()[-1]
        assert second["id"] != first["id"] and second["caller_user"] == ALICE, second
        texts = [t.text for t in store.turns(second["id"]) if t.role == "bot"]
        assert "Alice" in texts[0], texts  # greeted by name, by the other bot
        assert any("4471" in t for t in texts[1:]), texts

        # Someone else using Alice's number without her password is challenged and reaches no bot.
        calls_before = len(store.calls())
        with pytest.raises(AssertionError, match="recorded nothing"):  # no call, so no audio
            baresip_call(uri, ask, tmp_path / "spoof", seconds=8, user=ALICE, password="wrong-guess-99")
        assert len(store.calls()) == calls_before
    finally:
        store.close()
        cluster.restart("a")
