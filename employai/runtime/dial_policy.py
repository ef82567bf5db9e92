"""The one place that decides what the bot may dial. Every outgoing INVITE and every REFER the bot sends passes
`DialPolicy.check` (the SIP agent calls it before it acts: `telephony.SipAgent(dial_gate=...)`).

Allowed, and nothing else:
- "transfer" / "transfer_leg": the URI of an entry of the configured transfer directory;
- "scheduled": a scheduled call that is being placed now. Only the operator (`employai call`) and the callback path
  write scheduled calls, and a callback is only ever to the caller's verified number (`callback_uri`).

Whatever a caller says, a model writes or a SIP header carries, a target outside those is refused.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from brain.switchboard import Directory
from telephony import SipError

log = logging.getLogger(__name__)

PURPOSES = ("transfer", "transfer_leg", "scheduled")
_SAFE_URI = re.compile(r"sips?:[A-Za-z0-9+_.!~*'()%&=$,;:@\[\]\-]+")  # no headers ('?'), spaces or controls
_NUMBER = re.compile(r"\+?\d{7,15}")  # no short codes (emergency, premium services) and no extensions
_HOST = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,62}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9\-]{0,62}"
                   r"[A-Za-z0-9])?(?::\d{1,5})?|\[[0-9A-Fa-f:.]+\](?::\d{1,5})?")


class DialPolicy:
    def __init__(self, directory: Directory, scheduled_now: Callable[[str], bool]):
        self._directory = directory
        self._scheduled_now = scheduled_now  # is a scheduled call to exactly this URI being placed?

    def check(self, uri: str, purpose: str) -> None:
        """Raise `SipError` unless the business chose `uri` for `purpose`. Any thread (reads only)."""
        if purpose not in PURPOSES:
            raise self._refuse(purpose, "unknown purpose")
        if not _SAFE_URI.fullmatch(uri or ""):
            raise self._refuse(purpose, "not a plain SIP URI")
        if purpose in ("transfer", "transfer_leg"):
            if not any(self._directory.uri_of(entry) == uri for entry in self._directory.entries):
                raise self._refuse(purpose, "not in the transfer directory")
        elif not self._scheduled_now(uri):
            raise self._refuse(purpose, "not a scheduled call being placed")

    @staticmethod
    def _refuse(purpose: str, why: str) -> SipError:
        log.warning("outgoing call refused by the dial policy", extra={"purpose": purpose, "why": why})
        return SipError(f"not allowed to dial ({why})")


def callback_uri(number: str, domain: str) -> str | None:
    """Where to call a caller back: their verified number alone (7 to 15 digits) at the registrar's domain, the
    business's own trunk. No user parameters, no headers, no host of the caller's: a bot without a registrar
    places no callbacks (None), and neither does a number that is not a plain phone number."""
    if not _NUMBER.fullmatch(number or "") or not _HOST.fullmatch(domain or ""):
        return None
    return f"sip:{number}@{domain}"
