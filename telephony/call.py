"""One SIP call: the PJSUA2 `Call` subclass (SIP thread only) and the thread-safe handle the application holds.

Nothing is dialled that the application did not ask for through `SipAgent.make_call` or `CallHandle.transfer`
(both pass the agent's dial gate): a REFER from the far end is declined (603), an INVITE with Replaces is
declined unless it replaces one of our own attended-transfer legs, and redirects (3xx) of our calls are not
followed (PJSUA2's default, kept).
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import pjsua2 as pj

from .errors import SipError
from .headers import (
    CallerIdentity,
    TransferredFrom,
    caller_identity,
    clean_uri,
    header_values,
    transferred_from,
    uri_of,
)
from .media import FrameEndpoint, FramePort, audio_format
from .sdp import best_codec, narrow_answer

if TYPE_CHECKING:
    from .agent import SipAgent

log = logging.getLogger(__name__)

DECLINE = 603
_CONNECTED = (pj.PJSUA_CALL_MEDIA_ACTIVE, pj.PJSUA_CALL_MEDIA_REMOTE_HOLD)


class CallEvents(FrameEndpoint, Protocol):
    """What the application hears of a call. SIP-thread callbacks must return at once."""

    def on_answered(self) -> None:
        """Media is flowing (SIP thread)."""

    def on_dtmf(self, digit: str) -> None:
        """A DTMF digit arrived, RFC 4733 or SIP INFO (any PJSUA2 thread)."""

    def on_ended(self, reason: str, status: int) -> None:
        """The call is over (SIP thread); `status` is the final SIP status (486 busy, 408 no answer, ...)."""

    def on_transfer_status(self, status: int, reason: str, final: bool) -> None:
        """A NOTIFY about a transfer we asked for with REFER (SIP thread)."""


@dataclass(frozen=True)
class IncomingCall:
    caller: CallerIdentity
    to_uri: str
    call_id: str
    raw_invite: str
    transferred_from: TransferredFrom | None = None
    source: str = ""  # who sent the INVITE: "ip:port" of the last hop (a proxy, or the caller itself)
    trusted: bool = False  # `source` is in sip.trusted_proxies: its identity and transfer headers are believed

    @classmethod
    def from_invite(cls, message: str, own_user: str = "", source: str = "", trusted: bool = False) -> IncomingCall:
        to = header_values(message, "to")
        call_id = header_values(message, "call-id")
        return cls(
            caller=caller_identity(message, trusted),
            to_uri=uri_of(to[0]) if to else "",
            call_id=clean_uri(call_id[0]) if call_id else "",
            raw_invite=message,
            transferred_from=transferred_from(message, own_user, trusted),
            source=source,
            trusted=trusted,
        )


class CallControl(Protocol):
    """What the application does to a call it holds, from any thread. `CallHandle` is the real one; a test fake
    implements the same. The futures complete when the SIP thread has acted (or hold its SipError)."""

    @property
    def call_id(self) -> int: ...

    def hangup(self, status: int = 200) -> None:
        """BYE (or, before the answer, CANCEL or a final `status`); a call already over is left alone."""

    def transfer(self, uri: str) -> Future[None]:
        """Blind transfer: REFER the other party to `uri`, if the dial gate allows it."""
        ...

    def transfer_replacing(self, other: CallControl) -> Future[None]:
        """Attended transfer: join the other party to the party of `other` (REFER with Replaces)."""
        ...


class CallHandle:
    """The application's way to act on a call from any thread (`CallControl`): every action runs on the SIP
    thread."""

    def __init__(self, agent: SipAgent, call_id: int):
        self._agent = agent
        self.call_id = call_id

    def hangup(self, status: int = 200) -> None:
        self._agent.submit(lambda: self._agent._hangup(self.call_id, status))

    def transfer(self, uri: str) -> Future[None]:
        """Blind transfer: REFER the other party to `uri`, if the dial gate allows it (purpose "transfer"; else the
        future holds its SipError); NOTIFYs arrive as `on_transfer_status`. Caller's thread: runs the gate."""
        try:
            self._agent.check_dial(uri, "transfer")
        except SipError as exc:
            refused: Future[None] = Future()
            refused.set_exception(exc)
            return refused
        return self._agent.submit(lambda: self._agent._transfer(self.call_id, uri))

    def transfer_replacing(self, other: CallControl) -> Future[None]:
        """Attended transfer: REFER the other party to the party of `other`, with Replaces (joins the two).
        `other` must be a transfer leg this agent placed (it passed the dial gate then)."""
        return self._agent.submit(lambda: self._agent._transfer_replacing(self.call_id, other.call_id))


class SipCall(pj.Call):
    """SIP thread only, like every pjsua2 object; destroyed by the agent a poll after its last callback."""

    def __init__(self, agent: SipAgent, account: pj.Account, call_id: int = pj.PJSUA_INVALID_ID,
                 transfer_leg: bool = False):
        super().__init__(account, call_id)
        self._agent = agent
        self._account = account
        self.call_id = call_id
        self.transfer_leg = transfer_leg  # a leg we placed for an attended transfer: it may be Replaced
        self.events: CallEvents | None = None
        self.answered = False
        self.ended = False
        self.dead = False  # the C++ call is deleted: no pjsua2 method may be called any more
        self.source_host = ""  # where an admitted incoming call came from (for the per-source count)
        self._port: FramePort | None = None
        self._port_slot = -1  # the conference slot of the call's audio our port is connected to
        self._told_answered = False
        self._replacement: SipCall | None = None

    def answer_with(self, status: int, headers: dict[str, str] | None = None) -> bool:
        prm = pj.CallOpParam()
        prm.statusCode = status
        for name, value in (headers or {}).items():
            header = pj.SipHeader()
            header.hName, header.hValue = name, value
            prm.txOption.headers.append(header)
        try:
            self.answer(prm)
            return True
        except pj.Error:
            log.warning("answer failed", extra={"status": status})
            return False

    def hangup_with(self, status: int) -> None:
        prm = pj.CallOpParam()
        prm.statusCode = status
        try:
            self.hangup(prm)
        except pj.Error:
            pass  # already gone

    def onCallState(self, prm: pj.OnCallStateParam) -> None:  # noqa: N802 (PJSUA2 name)
        info = self.getInfo()
        if self.call_id == pj.PJSUA_INVALID_ID:
            self.call_id = info.id
        if info.state == pj.PJSIP_INV_STATE_CONFIRMED and not self.answered:
            self.answered = True
            self._tell_answered()
        if info.state == pj.PJSIP_INV_STATE_DISCONNECTED and not self.ended:
            self.ended = True
            try:
                if self.events is not None:
                    self.events.on_ended(info.lastReason, info.lastStatusCode)
            finally:
                self._agent._call_ended(self)
                self.destroy()

    def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:  # noqa: N802 (PJSUA2 name)
        """Connect our frame port to the call's audio; again after a re-INVITE that changed the media (PJSUA then
        replaces the call's stream, and its conference slot, so the old connections are gone)."""
        if self.events is None or self.ended:
            return
        info = self.getInfo()  # keep it: `media` is a view into it (SWIG)
        for media in info.media:
            if media.type != pj.PJMEDIA_TYPE_AUDIO or media.status not in _CONNECTED:
                continue
            call_audio = self.getAudioMedia(media.index)
            slot = call_audio.getPortId()
            if self._port is not None and slot == self._port_slot:
                return
            first = self._port is None
            port = self._port
            if port is None:
                port = self._port = FramePort(self.events)
                port.createPort(f"call{self.call_id}", audio_format())
            else:
                log.info("call media changed: audio reconnected", extra={"call": self.call_id, "slot": slot})
            port.connect(call_audio)
            self._port_slot = slot
            if first:
                self._tell_answered()
            return

    def _tell_answered(self) -> None:
        """The call is up once its dialog is confirmed (our 200 was ACKed, or we ACKed theirs) and its audio is
        connected, whichever comes last: a 200 that never reaches the caller (too large to send, say) starts
        no conversation."""
        if self.answered and self._port is not None and not self._told_answered and self.events is not None:
            self._told_answered = True
            self.events.on_answered()

    def onCallSdpCreated(self, prm: pj.OnCallSdpCreatedParam) -> None:  # noqa: N802 (PJSUA2 name)
        """Answer with our preferred codec among those offered (PJSIP would follow the offerer's order)."""
        offer = prm.remSdp.wholeSdp
        if not offer:
            return  # we are the offerer: our priorities already order the offer
        codec = best_codec(offer, self._agent.settings.codecs)
        if codec is not None:
            prm.sdp.wholeSdp = narrow_answer(prm.sdp.wholeSdp, codec)

    def onCallTransferRequest(self, prm: pj.OnCallTransferRequestParam) -> None:  # noqa: N802 (PJSUA2 name)
        """A REFER from the far end: always declined, nothing is dialled (PJSUA's default would accept it and
        call the Refer-To URI: toll fraud through our trunk)."""
        prm.statusCode = DECLINE
        log.warning("REFER from the far end declined", extra={"call": self.call_id})
        log.debug("declined REFER target", extra={"call": self.call_id, "refer_to": clean_uri(prm.dstUri)})

    def onCallReplaceRequest(self, prm: pj.OnCallReplaceRequestParam) -> None:  # noqa: N802 (PJSUA2 name)
        """An INVITE with Replaces naming this call: declined, unless this call is our own attended-transfer leg
        (then the new call takes its place and its events)."""
        if not self.transfer_leg:
            prm.statusCode = DECLINE
            prm.reason = "Decline"
            log.warning("INVITE with Replaces declined", extra={"call": self.call_id})
            return
        self._replacement = SipCall(self._agent, self._account, transfer_leg=True)
        prm.newCall = self._replacement

    def onCallReplaced(self, prm: pj.OnCallReplacedParam) -> None:  # noqa: N802 (PJSUA2 name)
        new = self._replacement
        if new is None:
            return
        new.call_id = int(prm.newCallId)
        new.events, self.events = self.events, None
        self._agent._replaced(self, new)

    def onCallTransferStatus(self, prm: pj.OnCallTransferStatusParam) -> None:  # noqa: N802 (PJSUA2 name)
        prm.cont = True  # keep hearing NOTIFYs until the final one
        if self.events is not None:
            self.events.on_transfer_status(int(prm.statusCode), str(prm.reason), bool(prm.finalNotify))

    def onDtmfDigit(self, prm: pj.OnDtmfDigitParam) -> None:  # noqa: N802 (PJSUA2 name)
        if self.events is not None:
            self.events.on_dtmf(prm.digit)

    def destroy(self) -> None:
        """Release the media port (no media callback reaches Python after this), forget the events, and delete
        the C++ call. SIP thread only: in the DISCONNECTED callback (PJSUA2 allows deleting the call there), or
        for a call that never started. Not later: PJSUA may reuse the call id at once, and PJSUA2's `~Call`
        would then clear the new call's binding and hang it up (603). The object is dead after this."""
        if self.dead:
            return
        self.dead = True
        port, self._port = self._port, None
        if port is not None:
            port.release()
        self.events = None
        self._replacement = None
        pj.Call.__swig_destroy__(self)
