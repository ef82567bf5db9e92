"""A representative subset of RFC 4475's torture messages, malformed SDP offers, and oversized and empty
headers, each with the answers allowed for it (None in the set: no answer, the message is dropped; PJSIP drops
what it cannot parse, which UDP allows). In a message, `{bot}` is the bot's host:port, `{local}` ours, `{n}` a
unique number and `{len}` the body's length."""

from __future__ import annotations

from dataclasses import dataclass

SDP = ("v=0\r\no=t 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
       "m=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")


@dataclass(frozen=True)
class Torture:
    name: str
    message: str
    allowed: frozenset  # final statuses SIP allows; None in it: no answer is allowed (UDP: dropped)
    body: str = ""

    def render(self, bot: str, local: str, n: int) -> bytes:
        text = self.message.replace("{bot}", bot).replace("{local}", local).replace("{n}", str(n))
        text = text.replace("{len}", str(len(self.body.encode())))
        return (text.replace("\n", "\r\n") + self.body).encode()


def _req(first: str, *headers: str, cseq: str = "1 OPTIONS", body_type: str = "") -> str:
    lines = [first, "Via: SIP/2.0/UDP {local};branch=z9hG4bK-torture-{n};rport",
             "From: <sip:torture@{local}>;tag=t{n}", "To: <sip:employai@{bot}>", "Call-ID: torture-{n}@lab",
             f"CSeq: {cseq}", "Max-Forwards: 70", *headers]
    if body_type:
        lines.append(f"Content-Type: {body_type}")
    return "\n".join(lines) + "\nContent-Length: {len}\n\n"


def _drop(message: str, header: str) -> str:
    return "\n".join(line for line in message.split("\n") if not line.startswith(header))


def _invite(name: str, sdp: str, allowed: set[int], body_type: str = "application/sdp") -> Torture:
    message = _req("INVITE sip:employai@{bot} SIP/2.0", "Contact: <sip:torture@{local}>", cseq="1 INVITE",
                   body_type=body_type)
    return Torture(name, message, frozenset(allowed), sdp)


FOUR = frozenset(range(400, 500))
OPTIONS = "OPTIONS sip:employai@{bot} SIP/2.0"
DROP_OR_400 = frozenset({None, 400})

TORTURES = [
    # RFC 4475 3.1.1.x: valid but odd (answered normally)
    Torture("esc01-escaped-request-uri", _req("OPTIONS sip:%65mployai@{bot} SIP/2.0"), frozenset({200})),
    Torture("lwsdisp-odd-whitespace", _req(OPTIONS, "Subject :\n   folded\n\tsubject"), frozenset({200})),
    Torture("zeromf-max-forwards-zero", _req(OPTIONS).replace("Max-Forwards: 70", "Max-Forwards: 0"),
            frozenset({200, 483})),
    Torture("huge-header-3kb", _req(OPTIONS, "Subject: " + "x" * 3000), frozenset({200})),
    # 3.1.2.x: invalid messages
    # PJSIP takes the body to the datagram's end (RFC 4475 3.1.2.7 says drop or 400): harmless for OPTIONS
    Torture("clerr-content-length-too-large", _req(OPTIONS).replace("Content-Length: {len}", "Content-Length: 9999")
            .replace("Max-Forwards", "Content-Type: text/plain\nMax-Forwards"), DROP_OR_400 | {200}, body="short"),
    Torture("ncl-negative-content-length", _req(OPTIONS).replace("Content-Length: {len}", "Content-Length: -999"),
            DROP_OR_400),
    Torture("scalar02-huge-cseq", _req(OPTIONS, cseq="36893488147419103232 OPTIONS"), DROP_OR_400),
    Torture("badcseq-not-a-number", _req(OPTIONS, cseq="abc OPTIONS"), DROP_OR_400),
    # PJSIP answers by the request line (RFC 4475 3.1.2.17 says 400): harmless for OPTIONS
    Torture("mismatch01-cseq-method", _req(OPTIONS, cseq="8 INVITE"), DROP_OR_400 | {200}),
    Torture("badvers-sip-7", _req("OPTIONS sip:employai@{bot} SIP/7.0"), frozenset({None, 400, 505})),
    Torture("unkm-unknown-method", _req("NEWMETHOD sip:employai@{bot} SIP/2.0", cseq="1 NEWMETHOD"),
            frozenset({None, 405, 501})),
    Torture("insuf-no-call-id", _drop(_req(OPTIONS), "Call-ID"), DROP_OR_400),
    Torture("insuf-no-cseq", _drop(_req(OPTIONS), "CSeq"), DROP_OR_400),
    Torture("insuf-no-from", _drop(_req(OPTIONS), "From"), DROP_OR_400),
    Torture("insuf-no-via", _drop(_req(OPTIONS), "Via"), frozenset({None})),  # nowhere to answer
    Torture("bad-request-uri", _req("OPTIONS sip:@@@ SIP/2.0"), DROP_OR_400),
    Torture("over-pjsip-max-packet-4kb-display-name", _req(OPTIONS).replace(
        "From: <sip:torture@{local}>", 'From: "' + "N" * 4096 + '" <sip:torture@{local}>'), frozenset({None})),
    Torture("nul-bytes", _req(OPTIONS, "Subject: a\x00b"), frozenset({None, 200, 400})),
    # Malformed SDP offers
    _invite("sdp-not-sdp", "v=0\r\nthis is not a session description\r\nm=audio banana RTP/AVP\r\n", {400, 488}),
    _invite("sdp-no-connection-line", SDP.replace("c=IN IP4 127.0.0.1\r\n", ""), {400, 488}),
    _invite("sdp-video-only", SDP.replace("m=audio 9 RTP/AVP 0", "m=video 9 RTP/AVP 96"), {400, 488}),
    _invite("sdp-audio-port-zero", SDP.replace("m=audio 9", "m=audio 0"), {400, 488}),
    _invite("sdp-only-unknown-codecs",
            SDP.replace("RTP/AVP 0\r\na=rtpmap:0 PCMU/8000", "RTP/AVP 98\r\na=rtpmap:98 OPUS/48000/2"), {488}),
    _invite("sdp-thousands-of-payload-types", SDP.replace("RTP/AVP 0", "RTP/AVP " + " 96" * 600), {400, 488}),
    _invite("sdp-bad-address", SDP.replace("c=IN IP4 127.0.0.1", "c=IN IP4 999.1.1.1"), {400, 488}),
    _invite("body-not-sdp", "hello", {415}, body_type="text/plain"),
]
