"""The telephony room's defences, against a SipAgent in this process (no models) and real SIP over loopback:
REFER and Replaces refused, the dial gate, caller ID from trusted and untrusted sources, long and empty headers,
per-source limits, a re-INVITE that moves the media, and media ports torn down under their callbacks.

Source addresses: the agent trusts 127.0.0.1 only; 127.0.0.2 and up are strangers (Linux answers all of
127.0.0.0/8 on loopback)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from sip_config.schema import SipSettings
from telephony import SipAgent, SipError
from telephony.media import FramePort, audio_format

from .peers import free_port, sipp
from .sip_lab import Listener, Recorder, RtpPeer, SipPeer, invite, sdp
from .sipp_scenarios import caller_scenario, pause, reinvite, write

pytestmark = [pytest.mark.sip, pytest.mark.timeout(120)]

PREMIUM = "19005550123"


@dataclass
class Lab:
    agent: SipAgent
    listener: Listener
    dialled: list  # (uri, purpose) the dial gate was asked about
    address: tuple[str, int]


@pytest.fixture(scope="module")
def lab():
    dialled: list[tuple[str, str]] = []

    def gate(uri: str, purpose: str) -> None:
        dialled.append((uri, purpose))
        if PREMIUM in uri:
            raise SipError("not a destination the business chose")

    port = free_port()
    settings = SipSettings(port=port, transports=("udp",), rtp_port=46000, rtp_port_range=200, log_level=1,
                           trusted_proxies=("127.0.0.1",), max_calls=8, max_calls_per_source=2,
                           invites_per_source_per_s=50.0, retry_after_s=30)
    listener = Listener()
    agent = SipAgent(settings, listener, dial_gate=gate)
    agent.start()
    yield Lab(agent, listener, dialled, ("127.0.0.1", port))
    agent.stop()


@pytest.fixture
def trap():
    """A SIP peer at a premium-rate-looking URI that must never be called."""
    peer = SipPeer("127.0.0.1")
    yield peer, f"sip:{PREMIUM}@{peer.local}"
    peer.close()


def _answered_call(lab: Lab, host: str = "127.0.0.2", **kwargs):
    peer = SipPeer(host)
    response, dialog = invite(peer, lab.address, **kwargs)
    assert response is not None and response.status == 200, response
    return peer, dialog


def test_the_dial_gate_is_required_and_refuses_before_anything_is_sent(lab, trap):
    with pytest.raises(TypeError):
        SipAgent(SipSettings())  # no silent allow-all default
    peer, uri = trap
    with pytest.raises(SipError):
        lab.agent.make_call(uri, Recorder())
    assert lab.dialled[-1] == (uri, "scheduled")
    with pytest.raises(SipError):
        lab.agent.make_call(uri, Recorder(), transfer_leg=True)
    assert lab.dialled[-1] == (uri, "transfer_leg")
    assert peer.receive(1.0) is None, "an INVITE went out to a refused destination"


def test_a_failing_dial_gate_refuses_the_call():
    def broken(uri: str, purpose: str) -> None:
        raise RuntimeError("policy bug")

    agent = SipAgent(SipSettings(), dial_gate=broken)  # not started: check_dial needs no SIP stack
    with pytest.raises(SipError):
        agent.check_dial("sip:201@pbx.example", "transfer")
    with pytest.raises(ValueError):
        agent.check_dial("sip:201@pbx.example", "whatever")


def test_refer_from_the_caller_is_declined_and_nothing_is_dialled(lab, trap):
    trap_peer, trap_uri = trap
    peer, dialog = _answered_call(lab)
    asked = len(lab.dialled)
    dialog.send("REFER", (f"Refer-To: <{trap_uri}>", f"Referred-By: <sip:{peer.user}@{peer.local}>"))
    response = peer.final("REFER")
    assert response is not None and response.status == 603, response
    # Outside any dialog: no PJSUA module takes it, PJSIP drops it unanswered.
    peer.request("REFER", f"sip:employai@{lab.address[0]}:{lab.address[1]}", lab.address, "ood-refer", "x1",
                 "<sip:employai@127.0.0.1>", (f"Refer-To: <{trap_uri}>",))
    response = peer.final("REFER", timeout=1.0)
    assert response is None or response.status >= 400, response
    assert trap_peer.receive(1.5) is None, "the bot dialled the Refer-To URI"
    assert len(lab.dialled) == asked
    assert dialog.bye() == 200  # the call itself went on
    peer.close()


def test_blind_transfer_to_a_refused_destination_sends_no_refer(lab, trap):
    _, trap_uri = trap
    peer, dialog = _answered_call(lab)
    _, handle, _ = lab.listener.find(dialog.call_id)
    future = handle.transfer(trap_uri)
    with pytest.raises(SipError):
        future.result(timeout=5)
    assert lab.dialled[-1] == (trap_uri, "transfer")
    assert peer.receive(1.0, lambda m: m.method == "REFER") is None
    assert dialog.bye() == 200
    peer.close()


def test_invite_with_replaces_is_declined_for_a_call_the_caller_placed(lab):
    peer, dialog = _answered_call(lab)
    intruder = SipPeer("127.0.0.3")
    replaces = f"Replaces: {dialog.call_id};to-tag={dialog.bot_tag};from-tag={dialog.from_tag}"
    response, _ = invite(intruder, lab.address, headers=(replaces,))
    assert response is not None and response.status == 603, response
    assert dialog.bye() == 200  # the original call was not touched
    peer.close()
    intruder.close()


def test_our_own_transfer_leg_may_be_replaced(lab):
    colleague = SipPeer("127.0.0.2", user="201")
    leg = Recorder()
    handle = lab.agent.make_call(f"sip:201@{colleague.local}", leg, purpose="transfer_leg", transfer_leg=True)
    request = colleague.receive(5, lambda m: m.method == "INVITE")
    assert request is not None
    colleague.respond(request, "200 OK", lab.address, to_tag="leg1", body=sdp(9))
    assert colleague.receive(5, lambda m: m.method == "ACK") is not None
    caller = SipPeer("127.0.0.4")
    replaces = f"Replaces: {request.header('call-id')};to-tag={request.tag('from')};from-tag=leg1"
    response, new_dialog = invite(caller, lab.address, headers=(replaces,))
    assert response is not None and response.status == 200, response
    bye = colleague.receive(5, lambda m: m.method == "BYE")  # the replaced leg is hung up
    assert bye is not None
    colleague.respond(bye, "200 OK", lab.address)
    assert not leg.ended.wait(1.0), "the leg's events were told it ended, but the call goes on"
    handle.hangup()  # the handle of the leg now acts on the call that replaced it
    bye = caller.receive(5, lambda m: m.method == "BYE")
    assert bye is not None
    caller.respond(bye, "200 OK", lab.address)
    assert leg.ended.wait(5)
    colleague.close()
    caller.close()


def test_caller_id_is_believed_only_from_a_trusted_proxy(lab):
    headers = ("P-Asserted-Identity: <sip:+15550199@pbx.example>", 'Referred-By: "Bob" <sip:bob@pbx.example>')
    for host, user, verified in (("127.0.0.1", "+15550199", True), ("127.0.0.2", "+15550101", False)):
        peer, dialog = _answered_call(lab, host, headers=headers)
        call, _, _ = lab.listener.find(dialog.call_id)
        assert call.source == peer.local and call.trusted is verified
        assert call.caller.user == user and call.caller.verified is verified
        assert call.transferred_from is not None and call.transferred_from.user == "bob"
        assert call.transferred_from.verified is verified
        assert dialog.bye() == 200
        peer.close()


def test_long_and_empty_headers_are_capped_and_answered(lab):
    name = "Mallory \x07<script>" + "A" * 1500
    peer, dialog = _answered_call(lab, from_header=f'"{name.replace(chr(34), "")}" <sip:mallory@127.0.0.2>',
                                  headers=("Diversion: ", "Referred-By:", "History-Info: <>"))
    call, _, _ = lab.listener.find(dialog.call_id)
    assert len(call.caller.display_name) <= 64 and call.caller.display_name.startswith("Mallory script")
    assert not set(call.caller.display_name) & set('<>"\x07\r\n')
    assert call.transferred_from is None
    assert dialog.bye() == 200
    # Headers so long that our 200 (which copies From back) could not be sent: refused at once, no call held.
    response, _ = invite(peer, lab.address, from_header='"' + "E" * 3300 + '" <sip:mallory@127.0.0.2>')
    assert response is not None and response.status == 513, response
    peer.close()


def test_too_many_calls_from_one_source_get_503_with_retry_after(lab):
    peer = SipPeer("127.0.0.5")
    dialogs = []
    for _ in range(2):
        response, dialog = invite(peer, lab.address)
        assert response is not None and response.status == 200, response
        dialogs.append(dialog)
    response, _ = invite(peer, lab.address)
    assert response is not None and response.status == 503, response
    assert response.header("retry-after") == "30"
    other, other_dialog = _answered_call(lab, "127.0.0.6")  # another source is still served
    assert other_dialog.bye() == 200
    for dialog in dialogs:
        assert dialog.bye() == 200
    response, dialog = invite(peer, lab.address)  # its calls ended: served again
    assert response is not None and response.status == 200
    assert dialog.bye() == 200
    peer.close()
    other.close()


def test_every_call_slot_of_the_build_serves_a_call_and_the_next_invite_gets_486(lab):
    """sip.max_calls at or above the build's PJSUA_MAX_CALLS: every slot may hold a call (none is held back for
    refusals), and PJSIP itself answers the next INVITE 486 without a slot; a freed slot serves again."""
    assert lab.agent._budget.max_calls == lab.agent._budget.slots
    peers = [SipPeer(f"127.0.0.{20 + i}") for i in range(lab.agent._budget.slots + 1)]
    dialogs = []
    try:
        for peer in peers[:-1]:
            response, dialog = invite(peer, lab.address)
            assert response is not None and response.status == 200, response
            dialogs.append(dialog)
        response, _ = invite(peers[-1], lab.address)
        assert response is not None and response.status == 486, response
        assert dialogs.pop().bye() == 200
        response, dialog = invite(peers[-1], lab.address)  # a slot is free again: answered
        assert response is not None and response.status == 200, response
        dialogs.append(dialog)
    finally:
        for dialog in dialogs:
            dialog.bye()
        for peer in peers:
            peer.close()


def test_a_call_beyond_capacity_is_refused_with_the_status_the_bot_chose(lab):
    peer = SipPeer("127.0.0.7")
    try:
        for status, retry_after in ((503, "30"), (486, "")):
            lab.listener.full = status
            response, _ = invite(peer, lab.address)
            assert response is not None and response.status == status, response
            assert response.header("retry-after") == retry_after
        lab.listener.full = None
        response, dialog = invite(peer, lab.address)  # room again: answered
        assert response is not None and response.status == 200 and dialog.bye() == 200
    finally:
        lab.listener.full = None
        peer.close()


def test_a_reinvite_that_moves_the_media_keeps_audio_flowing_both_ways(lab, tmp_path: Path):
    first, second = RtpPeer(), RtpPeer()
    scenario = caller_scenario(pause(2000) + reinvite(second.port) + pause(5000), media_port=str(first.port))
    result = {}
    thread = threading.Thread(target=lambda: result.update(run=sipp(
        write(tmp_path / "reinvite.xml", scenario), f"127.0.0.1:{lab.address[1]}", tmp_path, ["-s", "employai"],
        timeout=30)))
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while first.source is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert first.source is not None, "no audio from the bot before the re-INVITE"
        recorder = lab.listener.calls[-1][2]
        first.send_to(first.source)  # the bot's RTP address: it stays the same through the re-INVITE
        time.sleep(0.8)
        first.send_to(None)  # before the re-INVITE: PJMEDIA would follow a source that keeps sending
        assert recorder.heard > 0, "the bot heard nothing before the re-INVITE"
        deadline = time.monotonic() + 10
        while second.audible < 50 and time.monotonic() < deadline:
            time.sleep(0.05)
        heard_before = recorder.heard
        second.send_to(first.source)
        time.sleep(1.5)
        thread.join(30)
        assert result["run"].returncode == 0, result["run"].stdout[-2000:]
        assert second.audible >= 50, "the bot's audio did not follow the re-INVITE to the new port"
        assert recorder.heard - heard_before >= 25, "the bot stopped hearing the caller after the re-INVITE"
    finally:
        first.close()
        second.close()


def test_media_ports_torn_down_under_their_callbacks_never_reach_python(lab, capfd):
    class Touchy(Recorder):
        calls = 0

        def next_audio_frame(self):
            Touchy.calls += 1
            started = time.perf_counter()
            while time.perf_counter() - started < 0.004:  # hold the callback (and the GIL) open
                pass
            return super().next_audio_frame()

    late: list[int] = []

    def churn() -> None:
        for _ in range(100):
            a, b = FramePort(Touchy()), FramePort(Touchy())
            a.createPort("a", audio_format())
            b.createPort("b", audio_format())
            a.connect(b)
            time.sleep(0.02)
            a.release(b)
            b.release()
            released_at = Touchy.calls
            time.sleep(0.005)
            late.append(Touchy.calls - released_at)

    capfd.readouterr()
    lab.agent.submit(churn).result(timeout=60)
    printed = capfd.readouterr().err  # SWIG prints an exception raised in a director callback
    assert Touchy.calls > 100, "the media clock never called the ports"
    assert sum(late) == 0, "a callback reached Python after release() returned"
    assert "Error" not in printed and "Traceback" not in printed, printed[-2000:]
