"""Codec choice in SDP answers (pure text functions).

PJSIP's negotiator follows the offerer's codec order. To prefer our own order (G.722 first) we narrow our answer,
before it is negotiated, to the best codec the offer contains, keeping telephone-event for DTMF.
"""

from __future__ import annotations

import re

_STATIC = {"0": "PCMU", "8": "PCMA", "9": "G722", "3": "GSM", "18": "G729"}
_RTPMAP = re.compile(r"^a=rtpmap:(\d+)\s+([^/\s]+)", re.IGNORECASE)
_PT_ATTR = re.compile(r"^a=(rtpmap|fmtp|rtcp-fb):(\d+)\b", re.IGNORECASE)


def _audio_payloads(sdp: str) -> dict[str, str]:
    """Payload type -> codec name (upper case) of the first audio stream, in the offer's order."""
    lines = sdp.replace("\r\n", "\n").split("\n")
    pts: list[str] = []
    names: dict[str, str] = {}
    in_audio = False
    for line in lines:
        if line.startswith("m="):
            if in_audio:
                break
            in_audio = line.startswith("m=audio")
            if in_audio:
                pts = line.split()[3:]
        elif in_audio and (match := _RTPMAP.match(line)):
            names[match.group(1)] = match.group(2).upper()
    return {pt: names.get(pt, _STATIC.get(pt, "")) for pt in pts}


def best_codec(offer: str, preference: tuple[str, ...]) -> str | None:
    offered = set(_audio_payloads(offer).values())
    return next((codec for codec in preference if codec in offered), None)


def narrow_answer(answer: str, codec: str) -> str:
    """Our SDP with the first audio stream reduced to `codec` (and telephone-event)."""
    keep = {pt for pt, name in _audio_payloads(answer).items() if name in (codec, "TELEPHONE-EVENT")}
    if not any(_audio_payloads(answer).get(pt) == codec for pt in keep):
        return answer
    eol = "\r\n" if "\r\n" in answer else "\n"
    out, in_audio, seen_audio = [], False, False
    for line in answer.split(eol):
        if line.startswith("m="):
            in_audio = line.startswith("m=audio") and not seen_audio
            seen_audio = seen_audio or in_audio
            if in_audio:
                head, pts = line.split()[:3], line.split()[3:]
                line = " ".join(head + [pt for pt in pts if pt in keep])
        elif in_audio and (match := _PT_ATTR.match(line)) and match.group(2) not in keep:
            continue
        out.append(line)
    return eol.join(out)
