"""One SIP call: the PJSUA2 `Call` subclass (SIP thread only) and the thread-safe handle the application holds."""

from __future__ import annotations

import logging
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import pjsua2 as pj

from .headers import CallerIdentity, TransferredFrom, caller_identity, header_values, transferred_from, uri_of
from .media import FrameEndpoint, FramePort, audio_format
from .sdp import best_codec, narrow_answer

if TYPE_CHECKING:
    from .agent import SipAgent

log = logging.getLogger(__name__)


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

    @classmethod
    def from_invite(cls, message: str, own_user: str = "") -> IncomingCall:
        to = header_values(message, "to")
        call_id = header_values(message, "call-id")
        return cls(
            caller=caller_identity(message),
            to_uri=uri_of(to[0]) if to else "",
            call_id=call_id[0] if call_id else "",
            raw_invite=message,
            transferred_from=transferred_from(message, own_user),
        )


class CallHandle:
    """The application's way to act on a call from any thread: every action runs on the SIP thread."""

    def __init__(self, agent: SipAgent, call_id: int):
        self._agent = agent
        self.call_id = call_id

    def hangup(self, status: int = 200) -> None:
        self._agent.submit(lambda: self._agent._hangup(self.call_id, status))

    def transfer(self, uri: str) -> Future:
        """Blind transfer: REFER the other party to `uri`; NOTIFYs arrive as `on_transfer_status`."""
        return self._agent.submit(lambda: self._agent._transfer(self.call_id, uri))

    def transfer_replacing(self, other: CallHandle) -> Future:
        """Attended transfer: REFER the other party to the party of `other`, with Replaces (joins the two)."""
        return self._agent.submit(lambda: self._agent._transfer_replacing(self.call_id, other.call_id))


class SipCall(pj.Call):
    def __init__(self, agent: SipAgent, account: pj.Account, call_id: int = pj.PJSUA_INVALID_ID):
        super().__init__(account, call_id)
        self._agent = agent
        self.call_id = call_id
        self.events: CallEvents | None = None
        self.answered = False
        self._port: FramePort | None = None
        self._ended = False

    def answer_with(self, status: int) -> None:
        prm = pj.CallOpParam()
        prm.statusCode = status
        try:
            self.answer(prm)
        except pj.Error:
            log.warning("answer failed", extra={"status": status})

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
        if info.state == pj.PJSIP_INV_STATE_CONFIRMED:
            self.answered = True
        if info.state == pj.PJSIP_INV_STATE_DISCONNECTED and not self._ended:
            self._ended = True
            if self.events is not None:
                self.events.on_ended(info.lastReason, info.lastStatusCode)
            self._agent._call_ended(self)

    def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:  # noqa: N802 (PJSUA2 name)
        if self._port is not None or self.events is None:
            return
        info = self.getInfo()
        for media in info.media:
            if media.type == pj.PJMEDIA_TYPE_AUDIO and media.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                call_audio = self.getAudioMedia(media.index)
                self._port = FramePort(self.events)
                self._port.createPort(f"call{self.call_id}", audio_format())
                call_audio.startTransmit(self._port)
                self._port.startTransmit(call_audio)
                self.events.on_answered()
                return

    def onCallSdpCreated(self, prm: pj.OnCallSdpCreatedParam) -> None:  # noqa: N802 (PJSUA2 name)
        """Answer with our preferred codec among those offered (PJSIP would follow the offerer's order)."""
        offer = prm.remSdp.wholeSdp
        if not offer:
            return  # we are the offerer: our priorities already order the offer
        codec = best_codec(offer, self._agent.settings.codecs)
        if codec is not None:
            prm.sdp.wholeSdp = narrow_answer(prm.sdp.wholeSdp, codec)

    def onCallTransferStatus(self, prm: pj.OnCallTransferStatusParam) -> None:  # noqa: N802 (PJSUA2 name)
        prm.cont = True  # keep hearing NOTIFYs until the final one
        if self.events is not None:
            self.events.on_transfer_status(int(prm.statusCode), str(prm.reason), bool(prm.finalNotify))

    def onDtmfDigit(self, prm: pj.OnDtmfDigitParam) -> None:  # noqa: N802 (PJSUA2 name)
        if self.events is not None:
            self.events.on_dtmf(prm.digit)

    def destroy(self) -> None:
        """Release the media port and the call. SIP thread only."""
        self._port = None
        self.events = None
