"""The SIP user agent: one PJSUA2 endpoint driven by one thread of ours.

PJSUA2 runs with `threadCnt = 0`: our `sip-agent` thread creates the endpoint, polls it with
`libHandleEvents`, and runs every job that touches pjsua2 (`submit`), so no other thread of ours ever calls
into it. PJSUA2's own media thread calls the `FramePort` callbacks. Every pjsua2 object (calls, ports, the
account, the endpoint) is created and destroyed on the `sip-agent` thread, never left to the garbage collector.

Every call the bot places passes `dial_gate(uri, purpose)` first (in `make_call`, and in `CallHandle.transfer`
before a REFER), on the caller's thread; it raises SipError to refuse. Incoming INVITEs pass the per-source
limits and the media budget of `admission.py`; refusals are sent from the loop, paced so that PJSIP's media
sockets are never exhausted.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Protocol, TypeVar

import pjsua2 as pj

from sip_config.schema import RegistrationSettings, SipSettings

from .account import Account, RegistrationState
from .admission import MediaBudget, SourceLimiter, TrustedSources, host_of
from .call import CallEvents, CallHandle, IncomingCall, SipCall
from .errors import SipError
from .stack import account_config, create_endpoint

log = logging.getLogger(__name__)
T = TypeVar("T")

_POLL_MS = 10
PURPOSES = ("transfer", "transfer_leg", "scheduled")
# An INVITE whose headers are larger than this is refused (513): a 200 copies its From, To, Via and Record-Route
# back and adds our SDP, and PJSIP sends nothing over 4000 bytes, so its caller would never hear our answer while
# the call held a slot. (Ordinary INVITEs have well under 2000 bytes of headers; the SDP body is not counted.)
MAX_INVITE_HEAD_BYTES = 3000


def _head(message: str) -> str:
    return message.split("\r\n\r\n", 1)[0]


DialGate = Callable[[str, str], None]


class CallListener(Protocol):
    def on_incoming(self, handle: CallHandle, invite: IncomingCall) -> CallEvents | int | None:
        """Called on the SIP thread for each admitted INVITE; return None to refuse it (486), or the refusal's
        status (486, or 503 with Retry-After)."""


class SipAgent:
    def __init__(self, settings: SipSettings, listener: CallListener | None = None,
                 registration: RegistrationSettings | None = None,
                 on_registration: Callable[[RegistrationState], None] | None = None, *, dial_gate: DialGate):
        """`dial_gate(uri, purpose)` decides every call the bot places (purpose: "transfer", "transfer_leg" or
        "scheduled"); it raises SipError to refuse and runs on the thread that asks for the call."""
        self.settings = settings
        self._listener = listener
        self._dial_gate = dial_gate
        self._trusted = TrustedSources(settings.trusted_proxies)
        self._limiter = SourceLimiter(settings.max_calls_per_source, settings.invites_per_source_per_s)
        self._budget = MediaBudget(settings.max_calls, pj.EpConfig().uaConfig.maxCalls)
        self._refusals: deque[tuple[SipCall, int]] = deque()
        self._aliases: dict[int, int] = {}  # a replaced call's id -> the id of the call that took its place
        self._paused = False
        self.refused: Counter[str] = Counter()  # INVITEs we refused, by reason: rate, calls (503), busy (486)
        self._refusals_logged = (0.0, 0)  # when, and how many refusals the last summary counted
        self._registration = registration if registration is not None and registration.registrar else None
        self._on_registration = on_registration
        self._timers: list[tuple[float, int, Callable[[], Any]]] = []
        self._timer_ids = itertools.count()
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future]] = queue.SimpleQueue()
        self._calls: dict[int, SipCall] = {}
        self._ended: list[SipCall] = []
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._startup_error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="sip-agent", daemon=True)
        self._ep: pj.Endpoint | None = None
        self._account: Account | None = None
        self.registration = RegistrationState(state="registering" if self._registration else "off",
                                              registrar=self._registration.registrar if self._registration else "",
                                              aor=self.aor)

    @property
    def uri(self) -> str:
        """Where the bot answers directly."""
        s = self.settings
        return f"sip:{s.user}@{s.listen_address}:{s.port}"

    @property
    def aor(self) -> str:
        """The bot's address of record: at the registrar's domain when it registers, else its direct URI."""
        if self._registration is None:
            return self.uri
        return f"sip:{self.settings.user}@{self._registration.effective_domain}"

    # --- called from any thread ---------------------------------------------------------------------

    def start(self, timeout: float = 15.0) -> None:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise SipError("the SIP stack did not start in time")
        if self._startup_error is not None:
            raise SipError(f"could not start SIP on {self.uri}: {self._startup_error}") from None

    def submit(self, job: Callable[[], T]) -> Future[T]:
        """Run `job` on the SIP thread; the future holds its result."""
        future: Future[T] = Future()
        if self._stopping.is_set() and not self._thread.is_alive():
            future.set_exception(SipError("the SIP agent has stopped"))
            return future
        self._jobs.put((job, future))
        return future

    def check_dial(self, uri: str, purpose: str) -> None:
        """The dial gate, failing closed: SipError unless it allows calling `uri` for `purpose`."""
        if purpose not in PURPOSES:
            raise ValueError(f"unknown call purpose {purpose!r}")
        try:
            self._dial_gate(uri, purpose)
        except SipError:
            log.warning("outgoing call refused by the dial gate", extra={"purpose": purpose})
            log.debug("refused destination", extra={"uri": uri, "purpose": purpose})
            raise
        except Exception as exc:
            log.exception("the dial gate failed: the call is refused", extra={"purpose": purpose})
            raise SipError("the dial gate failed") from exc

    def make_call(self, uri: str, events: CallEvents, purpose: str | None = None,
                  transfer_leg: bool = False) -> CallHandle:
        """Place a call, if the dial gate allows it (SipError if not). `transfer_leg` marks an attended
        transfer's second leg (purpose "transfer_leg" by default), the only kind of call an INVITE with
        Replaces may take over; other calls default to purpose "scheduled". Any thread but the SIP thread."""
        purpose = purpose or ("transfer_leg" if transfer_leg else "scheduled")
        self.check_dial(uri, purpose)
        return self.submit(lambda: self._make_call(uri, events, transfer_leg)).result(timeout=10)

    def stop(self, timeout: float = 5.0) -> None:
        """Hang up every call (BYE, or 503 before answer), unregister, and destroy the endpoint."""
        self._stop_timeout = timeout
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout + 5.0)

    # --- the SIP thread -------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._create()
        except Exception as exc:  # pj.Error has no useful type: report it to start()
            self._startup_error = exc.info() if isinstance(exc, pj.Error) else exc
            self._destroy()
            self._ready.set()
            return
        self._ready.set()
        while not self._stopping.is_set():
            self._poll()
            self._run_jobs()
            self._run_timers()
            self._send_refusals()
            self._reap()
        self._shutdown_calls(getattr(self, "_stop_timeout", 5.0))
        self._destroy()

    def _create(self) -> None:
        s = self.settings
        if self._budget.max_calls < s.max_calls:
            log.warning("sip.max_calls is more than this PJSIP build allows: fewer calls are admitted",
                        extra={"max_calls": s.max_calls, "admitted": self._budget.max_calls,
                               "pjsua_calls": self._budget.slots})
        self._ep = create_endpoint(s, self._budget.slots)
        acfg = account_config(s, self.aor)
        self._account = Account(self, self._registration, self.aor)
        r = self._registration
        if r is not None:
            password = os.environ.get(r.password_env, "") if r.password_env else r.password
            self._account.configure(acfg, password, r.auth_user or s.user)
        self._account.create(acfg, True)

    def _poll(self) -> None:
        """Let PJSIP read and handle SIP, unless the media sockets closed in the last half second leave too few
        free for every call slot to fill: then wait a poll (a flood waits in the socket buffer)."""
        if self._budget.may_read(time.monotonic()):
            if self._paused:
                self._paused = False
                log.info("SIP reading resumed")
            self._handle_events()
            return
        if not self._paused:
            self._paused = True
            log.warning("SIP reading paused: too many calls ended in the last half second",
                        extra={"closed": self._budget.recently_closed(time.monotonic())})
        time.sleep(_POLL_MS / 1000)

    def _handle_events(self) -> None:
        """One poll of PJSIP: it reads and handles SIP for up to `_POLL_MS` (none before `_create` or after
        `_destroy`, when there is no endpoint)."""
        if self._ep is not None:
            self._ep.libHandleEvents(_POLL_MS)

    def _run_jobs(self) -> None:
        while True:
            try:
                job, future = self._jobs.get_nowait()
            except queue.Empty:
                return
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(job())
            except BaseException as exc:  # handed to the submitter
                future.set_exception(exc)

    def _after(self, delay_s: float, job: Callable[[], Any]) -> None:
        """Run `job` on the SIP thread after `delay_s` seconds (SIP thread only)."""
        heapq.heappush(self._timers, (time.monotonic() + delay_s, next(self._timer_ids), job))

    def _run_timers(self) -> None:
        now = time.monotonic()
        while self._timers and self._timers[0][0] <= now:
            _, _, job = heapq.heappop(self._timers)
            try:
                job()
            except Exception:
                log.exception("a SIP timer job failed")

    def _registration_changed(self, state: RegistrationState) -> None:
        self.registration = state
        if self._on_registration is not None:
            self._on_registration(state)

    def _on_incoming(self, account: pj.Account, prm: pj.OnIncomingCallParam) -> None:
        """SIP thread, inside PJSIP's handling of the INVITE (its media sockets already exist). Refusals are
        queued, never sent from here: a slot freed here would be refilled within the same poll."""
        call = SipCall(self, account, prm.callId)
        source = str(prm.rdata.srcAddress)
        host = host_of(source)
        trusted = host in self._trusted
        why = self._limiter.check(host, time.monotonic(), trusted)
        if why is None and len(_head(prm.rdata.wholeMsg)) > MAX_INVITE_HEAD_BYTES:
            why = "size"  # our answer copies its headers and could not be sent: refuse it before it holds a slot
            self.refused[why] += 1
            self._refusals.append((call, 513))
            return
        if why is not None:
            self.refused[why] += 1
            log.debug("INVITE refused by the per-source limits", extra={"source": source, "limit": why})
            self._refusals.append((call, 503))
            return
        events = None
        if self._listener is not None and len(self._calls) < self._budget.max_calls:
            try:  # an exception escaping here would leave the INVITE unanswered and its slot taken
                invite = IncomingCall.from_invite(prm.rdata.wholeMsg, self.settings.user, source, trusted)
                events = self._listener.on_incoming(CallHandle(self, prm.callId), invite)
            except Exception:
                log.exception("an incoming call could not be taken: it is refused")
        if events is None or isinstance(events, int):
            status = events if isinstance(events, int) and events in (486, 503) else 486
            self.refused["busy" if status == 486 else "full"] += 1
            self._refusals.append((call, status))
            return
        call.events = events
        call.source_host = host
        self._limiter.admitted(host)
        self._aliases.pop(prm.callId, None)
        self._calls[prm.callId] = call
        call.answer_with(180)
        call.answer_with(200)

    def _send_refusals(self) -> None:
        """Answer queued refusals as fast as the media budget allows; the rest wait (their slot stays taken,
        so PJSIP answers further INVITEs 486 statelessly)."""
        now, total = time.monotonic(), self.refused.total()
        if total != self._refusals_logged[1] and now - self._refusals_logged[0] >= 5.0:
            self._refusals_logged = (now, total)
            log.info("INVITEs refused so far", extra=dict(self.refused))
        while self._refusals and self._budget.may_close(time.monotonic()):
            call, status = self._refusals.popleft()
            if call.ended:
                continue
            headers = {"Retry-After": str(self.settings.retry_after_s)} if status == 503 else None
            if not call.answer_with(status, headers) and not call.ended:
                call.hangup_with(status)

    def _make_call(self, uri: str, events: CallEvents, transfer_leg: bool) -> CallHandle:
        call = SipCall(self, self._account, transfer_leg=transfer_leg)
        call.events = events
        prm = pj.CallOpParam(True)
        try:
            call.makeCall(uri, prm)
        except pj.Error as exc:
            call.events = None
            self._ended.append(call)
            raise SipError(f"could not call {uri}: {exc.info()}") from None
        if call.ended:  # failed at once (its DISCONNECTED callback already destroyed it)
            raise SipError(f"could not call {uri}")
        call_id = call.getId()
        self._aliases.pop(call_id, None)
        self._calls[call_id] = call
        return CallHandle(self, call_id)

    def _call_ended(self, call: SipCall) -> None:
        """SIP thread: a pjsua call (any: admitted, refused, ours) is DISCONNECTED and its sockets closed."""
        self._budget.closed(time.monotonic())
        if self._calls.get(call.call_id) is call:
            del self._calls[call.call_id]
        for old, new in list(self._aliases.items()):
            if new == call.call_id:
                del self._aliases[old]
        if call.source_host:
            self._limiter.released(call.source_host)
            call.source_host = ""

    def _replaced(self, old: SipCall, new: SipCall) -> None:
        """SIP thread: `new` (an INVITE with Replaces) took the place of our transfer leg `old`; the handle of
        `old` now acts on `new`."""
        self._calls[new.call_id] = new
        self._aliases[old.call_id] = new.call_id

    def _lookup(self, call_id: int) -> SipCall | None:
        return self._calls.get(self._aliases.get(call_id, call_id))

    def _hangup(self, call_id: int, status: int) -> None:
        call = self._lookup(call_id)
        if call is not None:
            call.hangup_with(status)

    def _transfer(self, call_id: int, uri: str) -> None:
        call = self._lookup(call_id)
        if call is None:
            raise SipError("the call has ended")
        call.xfer(uri, pj.CallOpParam(True))

    def _transfer_replacing(self, call_id: int, other_call_id: int) -> None:
        call, other = self._lookup(call_id), self._lookup(other_call_id)
        if call is None or other is None:
            raise SipError("the call has ended")
        if not other.transfer_leg:
            raise SipError("only a transfer leg we placed can be joined to a call")
        call.xferReplaces(other, pj.CallOpParam(True))

    def _reap(self) -> None:
        """Destroy calls that never started (a call that did is destroyed in its DISCONNECTED callback)."""
        while self._ended:
            self._ended.pop().destroy()

    def _shutdown_calls(self, timeout: float) -> None:
        while self._refusals:
            call, _ = self._refusals.popleft()
            if not call.ended:
                call.hangup_with(503)
        for call in list(self._calls.values()):
            call.hangup_with(503 if not call.answered else 200)
        waited = 0
        while self._calls and waited < timeout * 1000:
            self._handle_events()
            waited += _POLL_MS
        self._run_jobs()
        for call in list(self._calls.values()):
            self._call_ended(call)
            call.destroy()
        self._reap()
        self._unregister(timeout)

    def _unregister(self, timeout: float) -> None:
        if self._account is None or not self._account.unregister():
            return
        deadline = time.monotonic() + min(timeout, 3.0)
        while self.registration.state == "unregistering" and time.monotonic() < deadline:
            self._handle_events()

    def _destroy(self) -> None:
        if self._account is not None:
            try:
                self._account.shutdown()
            except pj.Error:
                pass
            self._account = None
        if self._ep is not None:
            try:
                self._ep.libDestroy()
            except pj.Error:
                log.warning("pjsua2 libDestroy failed")
            self._ep = None
        # Anyone still waiting on a job learns that the agent is gone.
        while True:
            try:
                _job, future = self._jobs.get_nowait()
            except queue.Empty:
                break
            if future.set_running_or_notify_cancel():
                future.set_exception(SipError("the SIP agent has stopped"))
