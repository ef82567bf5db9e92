"""A bench for the telephony room without the bot: a recording `CallEvents`, and raw SIP and RTP over UDP sockets
(for the requests SIPp cannot send: Replaces, torture messages, calls from chosen source addresses)."""

from __future__ import annotations

import math
import re
import socket
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field

from speech.pcm import FRAME_SAMPLES, RATE
from telephony.headers import header_values

_TONE = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / RATE))) for i in range(FRAME_SAMPLES))


class Recorder:
    """CallEvents that send a 440 Hz tone and count what they hear. Media-thread callbacks only count."""

    def __init__(self) -> None:
        self.heard = 0  # audible frames from the far end
        self.answered = threading.Event()
        self.ended = threading.Event()
        self.end: tuple[str, int] | None = None
        self.transfer_statuses: list[int] = []

    def on_audio_frame(self, pcm: bytes) -> None:
        if max(pcm[1::2]) not in (0, 255):  # high bytes: anything louder than a whisper
            self.heard += 1

    def next_audio_frame(self) -> bytes | None:
        return _TONE

    def on_answered(self) -> None:
        self.answered.set()

    def on_dtmf(self, digit: str) -> None:
        pass

    def on_ended(self, reason: str, status: int) -> None:
        self.end = (reason, status)
        self.ended.set()

    def on_transfer_status(self, status: int, reason: str, final: bool) -> None:
        self.transfer_statuses.append(status)


@dataclass
class Listener:
    """Answers every admitted call with a fresh Recorder, keeping what it was told."""

    calls: list = field(default_factory=list)  # (IncomingCall, CallHandle, Recorder)
    full: int | None = None  # the lines are full: refuse with this status (as the bot does beyond its capacity)

    def on_incoming(self, handle, invite):
        if self.full is not None:
            return self.full
        recorder = Recorder()
        self.calls.append((invite, handle, recorder))
        return recorder

    def find(self, sip_call_id: str):
        return next(c for c in self.calls if c[0].call_id == sip_call_id)


@dataclass
class Message:
    first_line: str
    text: str

    @property
    def status(self) -> int:
        parts = self.first_line.split()
        return int(parts[1]) if self.first_line.startswith("SIP/2.0") and len(parts) > 1 else 0

    @property
    def method(self) -> str:
        return "" if self.first_line.startswith("SIP/2.0") else self.first_line.split(" ", 1)[0]

    def header(self, name: str) -> str:
        values = header_values(self.text, name)
        return values[0] if values else ""

    def tag(self, name: str) -> str:
        match = re.search(r";\s*tag=([^;>\s]+)", self.header(name))
        return match.group(1) if match else ""

    @property
    def body(self) -> str:
        return self.text.split("\r\n\r\n", 1)[1] if "\r\n\r\n" in self.text else ""


def sdp(port: int, version: int = 1, host: str = "127.0.0.1") -> str:
    return (f"v=0\r\no=lab 1 {version} IN IP4 {host}\r\ns=-\r\nc=IN IP4 {host}\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n")


class SipPeer:
    """One UDP socket speaking raw SIP from `host` (any 127.x address works on Linux loopback)."""

    def __init__(self, host: str = "127.0.0.1", user: str = "+15550101"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.host, self.port = self.sock.getsockname()
        self.user = user
        self.cseq = 0
        self.branch = ""

    @property
    def local(self) -> str:
        return f"{self.host}:{self.port}"

    def close(self) -> None:
        self.sock.close()

    def send_raw(self, data: bytes | str, to: tuple[str, int]) -> None:
        self.sock.sendto(data.encode() if isinstance(data, str) else data, to)

    def request(self, method: str, uri: str, to: tuple[str, int], call_id: str, from_tag: str, to_header: str,
                headers: tuple[str, ...] = (), body: str = "", cseq: int | None = None,
                from_header: str | None = None, branch: str | None = None) -> None:
        if cseq is None:
            self.cseq += 1
        self.branch = branch or f"z9hG4bK{uuid.uuid4().hex[:16]}"
        lines = [f"{method} {uri} SIP/2.0",
                 f"Via: SIP/2.0/UDP {self.local};branch={self.branch};rport",
                 "From: " + (from_header or f'"Lab Caller" <sip:{self.user}@{self.local}>') + f";tag={from_tag}",
                 f"To: {to_header}", f"Call-ID: {call_id}", f"CSeq: {cseq or self.cseq} {method}",
                 f"Contact: <sip:{self.user.lstrip('+')}@{self.local}>", "Max-Forwards: 70", *headers]
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append(f"Content-Length: {len(body.encode())}")
        self.send_raw("\r\n".join(lines) + "\r\n\r\n" + body, to)

    def respond(self, request: Message, status: str, to: tuple[str, int], to_tag: str = "", body: str = "") -> None:
        to_header = request.header("to") + (f";tag={to_tag}" if to_tag and ";tag=" not in request.header("to")
                                            else "")
        vias = [f"Via: {v}" for v in header_values(request.text, "via")]
        lines = [f"SIP/2.0 {status}", *vias, f"From: {request.header('from')}", f"To: {to_header}",
                 f"Call-ID: {request.header('call-id')}", f"CSeq: {request.header('cseq')}",
                 f"Contact: <sip:lab@{self.local}>"]
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append(f"Content-Length: {len(body.encode())}")
        self.send_raw("\r\n".join(lines) + "\r\n\r\n" + body, to)

    def receive(self, timeout: float = 5.0, want=lambda m: True) -> Message | None:
        """The next message `want` accepts (others are dropped), or None at the deadline."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                data, _ = self.sock.recvfrom(65535)
            except (TimeoutError, OSError):
                return None
            text = data.decode(errors="replace")
            if not text.strip():
                continue
            message = Message(text.split("\r\n", 1)[0], text)
            if want(message):
                return message
        return None

    def final(self, cseq_method: str = "INVITE", timeout: float = 5.0) -> Message | None:
        """The next final response (>= 200) to a request of `cseq_method`."""
        return self.receive(timeout, lambda m: m.status >= 200 and m.header("cseq").endswith(cseq_method))


@dataclass
class Dialog:
    peer: SipPeer
    bot: tuple[str, int]
    uri: str
    call_id: str
    from_tag: str
    to_header: str  # with the bot's tag once answered

    @property
    def bot_tag(self) -> str:
        match = re.search(r";\s*tag=([^;>\s]+)", self.to_header)
        return match.group(1) if match else ""

    def send(self, method: str, headers: tuple[str, ...] = (), body: str = "", cseq: int | None = None) -> None:
        self.peer.request(method, self.uri, self.bot, self.call_id, self.from_tag, self.to_header, headers, body,
                          cseq=cseq)

    def ack(self, cseq: int, branch: str | None = None) -> None:
        """ACK: for a non-2xx answer, in the INVITE's transaction (`branch`); for a 2xx, a new one."""
        self.peer.request("ACK", self.uri, self.bot, self.call_id, self.from_tag, self.to_header, cseq=cseq,
                          branch=branch)

    def bye(self) -> int:
        self.send("BYE")
        response = self.peer.final("BYE")
        return response.status if response else 0


def invite(peer: SipPeer, bot: tuple[str, int], user: str = "employai", headers: tuple[str, ...] = (),
           body: str | None = None, from_header: str | None = None) -> tuple[Message | None, Dialog]:
    """Send an INVITE (a PCMU offer for a socket nobody reads unless `body` is given); ACK a final response.
    Returns the final response and the dialog."""
    uri = f"sip:{user}@{bot[0]}:{bot[1]}"
    dialog = Dialog(peer, bot, uri, uuid.uuid4().hex, uuid.uuid4().hex[:8], f"<{uri}>")
    peer.request("INVITE", uri, bot, dialog.call_id, dialog.from_tag, dialog.to_header, headers,
                 sdp(9) if body is None else body, from_header=from_header)
    cseq, branch = peer.cseq, peer.branch
    response = peer.final("INVITE")
    if response is not None:
        dialog.to_header = response.header("to")
        dialog.ack(cseq, branch if response.status >= 300 else None)
    return response, dialog


class RtpPeer:
    """A UDP socket that counts audible PCMU RTP packets arriving, and can send a PCMU tone to an address."""

    def __init__(self, host: str = "127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.port = self.sock.getsockname()[1]
        self.audible = 0
        self.source: tuple[str, int] | None = None  # where the bot's RTP comes from
        self._stop = threading.Event()
        self._sending_to: tuple[str, int] | None = None
        self._threads = [threading.Thread(target=self._receive, daemon=True),
                         threading.Thread(target=self._send, daemon=True)]
        for thread in self._threads:
            thread.start()

    def send_to(self, address: tuple[str, int]) -> None:
        self._sending_to = address

    def _receive(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                data, source = self.sock.recvfrom(2048)
            except (TimeoutError, OSError):
                continue
            if len(data) > 12 and len(set(data[12:])) > 4:  # PCMU silence is one or two byte values
                self.audible += 1
                self.source = source

    def _send(self) -> None:
        seq, stamp, ssrc = 1, 0, 0x1234
        payload = bytes(0x80 | (i * 37 % 64) for i in range(160))  # a loud buzz in PCMU
        while not self._stop.wait(0.02):
            if self._sending_to is not None:
                header = struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, stamp & 0xFFFFFFFF, ssrc)
                try:
                    self.sock.sendto(header + payload, self._sending_to)
                except OSError:
                    pass
                seq, stamp = seq + 1, stamp + 160

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(1)
        self.sock.close()
