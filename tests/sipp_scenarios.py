"""SIPp scenarios built from parts: a caller that INVITEs (optionally with transfer headers), does something
in the call (waits, speaks from a pcap, keys DTMF, takes a REFER), and ends; and callees that are busy, do not
answer, or answer. Written to files for `sipp -sf`."""

from __future__ import annotations

from pathlib import Path

_HEAD = '<?xml version="1.0" encoding="ISO-8859-1" ?>\n<!DOCTYPE scenario SYSTEM "sipp.dtd">\n'

def _offer(media_port: str | int, version: int = 1) -> str:
    """The caller's SDP offer (G.711 and telephone-event), RTP to `media_port`; a re-offer has a higher version."""
    return f"""      v=0
      o=sipp 53655765 {2353687636 + version} IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio {media_port} RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15
      a=sendrecv
"""


def _ack(caller: str, cseq: int) -> str:
    """The caller's ACK of the bot's 200 to its INVITE (CSeq `cseq`) or re-INVITE."""
    return f"""  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Test Caller" <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      [routes]
      Call-ID: [call_id]
      CSeq: {cseq} ACK
      Contact: <sip:{caller}@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
"""


_INVITE = """
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Test Caller" <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:{caller}@[local_ip]:[local_port]>
      Max-Forwards: 70
{headers}      Content-Type: application/sdp
      Content-Length: [len]

{offer}
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rrs="true"/>
{ack}"""

_CALLER_BYE = """
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Test Caller" <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      [routes]
      Call-ID: [call_id]
      CSeq: 10 BYE
      Contact: <sip:{caller}@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" crlf="true"/>
"""

_TO_TAG = ";tag=[pid]SIPpTag01[call_number]"
_SDP = ["v=0", "o=callee 1 1 IN IP[local_ip_type] [local_ip]", "s=-", "c=IN IP[media_ip_type] [media_ip]", "t=0 0",
        "m=audio [media_port] RTP/AVP 0", "a=rtpmap:0 PCMU/8000"]


def respond(status: str, to_tag: bool = False, contact: str = "", cseq: str = "[last_CSeq:]", sdp: bool = False,
            retrans: bool = False) -> str:
    """A response to the last request received: `status`, our To tag when it opens a dialog, an SDP answer."""
    lines = [f"SIP/2.0 {status}", "[last_Via:]", "[last_From:]", "[last_To:]" + (_TO_TAG if to_tag else ""),
             "[last_Call-ID:]", cseq]
    if contact:
        lines.append(f"Contact: <sip:{contact}@[local_ip]:[local_port]>")
    lines += ["Content-Type: application/sdp", "Content-Length: [len]", "", *_SDP] if sdp else \
        ["Content-Length: 0", ""]
    text = "\n".join(f"      {line}" if line else "" for line in lines)
    send = '<send retrans="500">' if retrans else "<send>"
    return f"\n  {send}\n    <![CDATA[\n{text}\n    ]]>\n  </send>\n"




def _bot_bye(timeout_ms: int) -> str:
    return f'\n  <recv request="BYE" timeout="{timeout_ms}"/>' + respond("200 OK")


def pause(ms: int) -> str:
    return f'\n  <pause milliseconds="{ms}"/>\n'


def play_pcap(path: Path) -> str:
    return f'\n  <nop><action><exec play_pcap_audio="{path}"/></action></nop>\n'


def dtmf_info(digit: str, caller: str = "+15550123", cseq: int = 2) -> str:
    """A key by SIP INFO; several keys in one call need rising `cseq` values (below the BYE's 10)."""
    return f"""
  <send retrans="500">
    <![CDATA[
      INFO [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Test Caller" <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      [routes]
      Call-ID: [call_id]
      CSeq: {cseq} INFO
      Contact: <sip:{caller}@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/dtmf-relay
      Content-Length: [len]

      Signal={digit}
      Duration=160
    ]]>
  </send>
  <recv response="200"/>
"""


def reinvite(media_port: int, caller: str = "+15550123") -> str:
    """The caller re-INVITEs with its audio moved to `media_port` (a new SDP version), and ACKs the answer."""
    return f"""
  <send retrans="500">
    <![CDATA[
      INVITE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Test Caller" <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      [routes]
      Call-ID: [call_id]
      CSeq: 5 INVITE
      Contact: <sip:{caller}@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

{_offer(media_port, version=2)}
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="200"/>
{_ack(caller, 5)}"""


def refer_from_caller(refer_to: str, expect: str = "603", caller: str = "+15550123") -> str:
    """The caller sends an in-dialog REFER to `refer_to` (as a toll fraudster would) and expects `expect`."""
    return f"""
  <send retrans="500">
    <![CDATA[
      REFER [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Test Caller" <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      [routes]
      Call-ID: [call_id]
      CSeq: 6 REFER
      Contact: <sip:{caller}@[local_ip]:[local_port]>
      Refer-To: <{refer_to}>
      Referred-By: <sip:{caller}@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="{expect}"/>
"""


def take_refer(refer_to_regexp: str, notify_status: str = "200 OK", timeout_ms: int = 40000,
               caller: str = "+15550123") -> str:
    """Receive the bot's REFER (its Refer-To must match), accept it, and report the outcome by NOTIFY."""
    return f"""
  <recv request="REFER" timeout="{timeout_ms}">
    <action>
      <ereg regexp="{refer_to_regexp}" search_in="hdr" header="Refer-To:" check_it="true" assign_to="refer_to"/>
      <ereg regexp=".*" search_in="hdr" header="From:" assign_to="bot_from"/>
    </action>
  </recv>
{respond("202 Accepted", contact=caller)}  <send retrans="500">
    <![CDATA[
      NOTIFY [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Test Caller" <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: [$bot_from]
      [routes]
      Call-ID: [call_id]
      CSeq: 4 NOTIFY
      Contact: <sip:{caller}@[local_ip]:[local_port]>
      Event: refer
      Subscription-State: terminated;reason=noresource
      Max-Forwards: 70
      Content-Type: message/sipfrag;version=2.0
      Content-Length: [len]

      SIP/2.0 {notify_status}
    ]]>
  </send>
  <recv response="200"/>
  <Reference variables="refer_to,bot_from"/>
"""


def caller_scenario(middle: str = "", headers: str = "", bot_hangs_up: bool = False, caller: str = "+15550123",
                    bye_timeout_ms: int = 30000, media_port: str = "[media_port]") -> str:
    """`media_port`: where the offer asks the bot to send RTP (SIPp's own media port unless a test listens)."""
    header_lines = "".join(f"      {h}\n" for h in headers.splitlines() if h.strip())
    end = _bot_bye(bye_timeout_ms) if bot_hangs_up else _CALLER_BYE.format(caller=caller)
    invite = _INVITE.format(caller=caller, headers=header_lines, offer=_offer(media_port), ack=_ack(caller, 1))
    body = invite + middle + end
    return _HEAD + '<scenario name="caller">' + body + "</scenario>\n"


def callee_scenario(kind: str, ring_ms: int = 0, middle: str = "") -> str:
    """A callee: 'busy' (486), 'no_answer' (rings until CANCELled), or 'answer' (200, `middle`, waits for BYE)."""
    ringing = respond("180 Ringing", to_tag=True, contact="callee")
    final = {"busy": "486 Busy Here", "no_answer": None, "answer": "200 OK"}[kind]
    parts = ['\n  <recv request="INVITE" crlf="true"/>\n', ringing]
    if kind == "no_answer":
        parts += ['\n  <recv request="CANCEL"/>', respond("200 OK"),
                  respond("487 Request Terminated", to_tag=True, cseq="CSeq: [cseq] INVITE"),
                  '  <recv request="ACK"/>\n']
    else:
        if ring_ms:
            parts.append(pause(ring_ms))
        parts += [respond(final, to_tag=True, contact="callee", sdp=kind == "answer", retrans=True),
                  '  <recv request="ACK"/>\n']
        if kind == "answer":
            parts.append(middle + _bot_bye(60000))
    return _HEAD + '<scenario name="callee">' + "".join(parts) + "</scenario>\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
