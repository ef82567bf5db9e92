"""The bot's SIP account: incoming calls, and registration to a registrar with our own back-off.

PJSUA2 refreshes a registration by itself before it expires. When a REGISTER fails (registrar down, refused
credentials), PJSUA2's own fixed-interval retry is off and `Registrar` retries with exponential back-off, so a
registrar that is down costs a REGISTER now and then, never the bot.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import pjsua2 as pj

from sip_config.schema import RegistrationSettings

if TYPE_CHECKING:
    from .agent import SipAgent

log = logging.getLogger(__name__)

_REFUSED = {401: "the registrar refused our credentials", 403: "the registrar refused the registration",
            404: "the registrar does not know this user", 407: "the proxy refused our credentials"}


@dataclass(frozen=True)
class RegistrationState:
    state: str = "off"  # off | registering | registered | failed | unregistering | unregistered
    registrar: str = ""
    aor: str = ""
    code: int = 0
    reason: str = ""
    expires_s: int = 0
    retry_in_s: float = 0.0
    failures: int = 0  # failed attempts in a row
    changed_at: float = 0.0
    problem: str = ""  # a sentence for the operator when it failed


def backoff_delay(failures: int, first_s: float, max_s: float) -> float:
    """Seconds to wait before the next attempt after `failures` failures in a row (1, 2, ...): doubling."""
    return min(max_s, first_s * 2 ** max(0, failures - 1))


def explain_failure(code: int, reason: str) -> str:
    if code in _REFUSED:
        return (f"{_REFUSED[code]} ({code} {reason}): check registration.auth_user, registration.password "
                "and registration.realm")
    if code in (408, 503) or code == 0 or code >= 700:
        return f"the registrar did not answer ({code} {reason}): is it running and reachable?"
    return f"registration failed ({code} {reason})"


class Account(pj.Account):
    """SIP thread only, like every pjsua2 object."""

    def __init__(self, agent: SipAgent, settings: RegistrationSettings | None, aor: str):
        super().__init__()
        self._agent = agent
        self._settings = settings if settings is not None and settings.registrar else None
        self._failures = 0
        self.registration = RegistrationState(
            state="registering" if self._settings else "off",
            registrar=self._settings.registrar if self._settings else "", aor=aor, changed_at=time.time())

    def configure(self, acfg: pj.AccountConfig, password: str, auth_user: str) -> None:
        s = self._settings
        if s is None:
            return
        acfg.regConfig.registrarUri = s.registrar
        acfg.regConfig.timeoutSec = s.expiry_s
        acfg.regConfig.retryIntervalSec = 0  # our back-off retries, see `_on_failure`
        acfg.regConfig.registerOnAdd = True
        acfg.regConfig.unregWaitMsec = 2000
        acfg.natConfig.udpKaIntervalSec = s.keepalive_s
        # Only the registrar's realm gets our credentials: a "*" realm would answer any host that challenges.
        acfg.sipConfig.authCreds.append(pj.AuthCredInfo("digest", s.effective_realm, auth_user, 0, password))

    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:  # noqa: N802 (PJSUA2 name)
        self._agent._on_incoming(self, prm)

    def onRegState(self, prm: pj.OnRegStateParam) -> None:  # noqa: N802 (PJSUA2 name)
        code, reason = int(prm.code), str(prm.reason)
        now = time.time()
        if self.registration.state == "unregistering":
            log.info("unregistered", extra={"registrar": self.registration.registrar, "code": code})
            self._set(state="unregistered", code=code, reason=reason, expires_s=0, changed_at=now)
        elif 200 <= code < 300 and prm.expiration > 0:
            if self.registration.state != "registered":
                log.info("registered", extra={"registrar": self.registration.registrar, "expires_s": prm.expiration})
            self._failures = 0
            self._set(state="registered", code=code, reason=reason, expires_s=int(prm.expiration), retry_in_s=0.0,
                      failures=0, problem="", changed_at=now)
        elif 200 <= code < 300:
            log.info("unregistered", extra={"registrar": self.registration.registrar})
            self._set(state="unregistered", code=code, reason=reason, expires_s=0, changed_at=now)
        elif self.registration.state != "unregistered":
            self._on_failure(code, reason)

    def _on_failure(self, code: int, reason: str) -> None:
        assert self._settings is not None
        self._failures += 1
        delay = backoff_delay(self._failures, self._settings.retry_s, self._settings.retry_max_s)
        problem = explain_failure(code, reason)
        log.error("registration failed", extra={"problem": problem, "retry_in_s": delay, "failures": self._failures})
        self._set(state="failed", code=code, reason=reason, expires_s=0, retry_in_s=delay, problem=problem,
                  failures=self._failures, changed_at=time.time())
        self._agent._after(delay, self._retry)

    def _retry(self) -> None:
        if self.registration.state != "failed":
            return
        self._set(state="registering")
        try:
            self.setRegistration(True)
        except pj.Error as exc:
            self._on_failure(0, exc.info())

    def unregister(self) -> bool:
        """Send an unregistering REGISTER; True when there was a registration to remove."""
        if self._settings is None or self.registration.state != "registered":
            return False
        try:
            self.setRegistration(False)
            self._set(state="unregistering")
            return True
        except pj.Error:
            return False

    def _set(self, **changes: Any) -> None:
        self.registration = replace(self.registration, **changes)
        self._agent._registration_changed(self.registration)
