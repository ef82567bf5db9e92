"""The SIP user agent: one PJSUA2 endpoint driven by one thread of ours.

PJSUA2 runs with `threadCnt = 0`: our `sip-agent` thread creates the endpoint, polls it with
`libHandleEvents`, and runs every job that touches pjsua2 (`submit`), so no other thread of ours ever calls
into it. PJSUA2's own media thread calls the `FramePort` callbacks. Every pjsua2 object (calls, ports, the
account, the endpoint) is created and destroyed on the `sip-agent` thread, never left to the garbage collector.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Protocol

import pjsua2 as pj

from sip_config.schema import RegistrationSettings, SipSettings

from .account import Account, RegistrationState
from .call import CallEvents, CallHandle, IncomingCall, SipCall
from .errors import SipError

log = logging.getLogger(__name__)

_POLL_MS = 10
_TRANSPORTS = {"udp": pj.PJSIP_TRANSPORT_UDP, "tcp": pj.PJSIP_TRANSPORT_TCP}


class CallListener(Protocol):
    def on_incoming(self, handle: CallHandle, invite: IncomingCall) -> CallEvents | None:
        """Called on the SIP thread for each new INVITE; return None to refuse it (486)."""


class SipAgent:
    def __init__(self, settings: SipSettings, listener: CallListener | None = None,
                 registration: RegistrationSettings | None = None,
                 on_registration: Callable[[RegistrationState], None] | None = None):
        self.settings = settings
        self._listener = listener
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

    def submit(self, job: Callable[[], Any]) -> Future:
        """Run `job` on the SIP thread; the future holds its result."""
        future: Future = Future()
        if self._stopping.is_set() and not self._thread.is_alive():
            future.set_exception(SipError("the SIP agent has stopped"))
            return future
        self._jobs.put((job, future))
        return future

    def make_call(self, uri: str, events: CallEvents) -> CallHandle:
        return self.submit(lambda: self._make_call(uri, events)).result(timeout=10)

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
            self._ep.libHandleEvents(_POLL_MS)
            self._run_jobs()
            self._run_timers()
            self._reap()
        self._shutdown_calls(getattr(self, "_stop_timeout", 5.0))
        self._destroy()

    def _create(self) -> None:
        s = self.settings
        self._ep = pj.Endpoint()
        self._ep.libCreate()
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0
        cfg.uaConfig.mainThreadOnly = False
        cfg.uaConfig.maxCalls = s.max_calls + 2
        cfg.uaConfig.userAgent = "Employai"
        cfg.logConfig.level = s.log_level
        cfg.logConfig.consoleLevel = s.log_level
        cfg.medConfig.clockRate = 16000
        cfg.medConfig.sndClockRate = 16000
        cfg.medConfig.channelCount = 1
        cfg.medConfig.noVad = True
        cfg.medConfig.ecTailLen = 0
        self._ep.libInit(cfg)
        for name in s.transports:
            tcfg = pj.TransportConfig()
            tcfg.port = s.port
            tcfg.boundAddress = s.listen_address
            tcfg.publicAddress = s.listen_address
            self._ep.transportCreate(_TRANSPORTS[name], tcfg)
        self._ep.libStart()
        self._ep.audDevManager().setNullDev()
        self._set_codec_priorities(s.codecs)
        acfg = pj.AccountConfig()
        acfg.idUri = self.aor
        acfg.mediaConfig.transportConfig.port = s.rtp_port
        acfg.mediaConfig.transportConfig.portRange = s.rtp_port_range
        acfg.mediaConfig.transportConfig.boundAddress = s.listen_address
        acfg.mediaConfig.transportConfig.publicAddress = s.listen_address
        self._account = Account(self, self._registration, self.aor)
        r = self._registration
        if r is not None:
            password = os.environ.get(r.password_env, "") if r.password_env else r.password
            self._account.configure(acfg, password, r.auth_user or s.user)
        self._account.create(acfg, True)

    def _set_codec_priorities(self, preferred: tuple[str, ...]) -> None:
        for info in self._ep.codecEnum2():
            name = info.codecId.split("/", 1)[0].upper()
            priority = 255 - preferred.index(name) if name in preferred else 0
            self._ep.codecSetPriority(info.codecId, priority)

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
        call = SipCall(self, account, prm.callId)
        invite = IncomingCall.from_invite(prm.rdata.wholeMsg, self.settings.user)
        handle = CallHandle(self, prm.callId)
        events = None
        if self._listener is not None and len(self._calls) < self.settings.max_calls:
            events = self._listener.on_incoming(handle, invite)
        if events is None:
            call.answer_with(486)
            self._ended.append(call)
            return
        call.events = events
        self._calls[prm.callId] = call
        call.answer_with(180)
        call.answer_with(200)

    def _make_call(self, uri: str, events: CallEvents) -> CallHandle:
        call = SipCall(self, self._account)
        call.events = events
        prm = pj.CallOpParam(True)
        try:
            call.makeCall(uri, prm)
        except pj.Error as exc:
            call.events = None
            self._ended.append(call)
            raise SipError(f"could not call {uri}: {exc.info()}") from None
        call_id = call.getId()
        self._calls[call_id] = call
        return CallHandle(self, call_id)

    def _call_ended(self, call: SipCall) -> None:
        self._calls.pop(call.call_id, None)
        self._ended.append(call)

    def _hangup(self, call_id: int, status: int) -> None:
        call = self._calls.get(call_id)
        if call is not None:
            call.hangup_with(status)

    def _transfer(self, call_id: int, uri: str) -> None:
        call = self._calls.get(call_id)
        if call is None:
            raise SipError("the call has ended")
        call.xfer(uri, pj.CallOpParam(True))

    def _transfer_replacing(self, call_id: int, other_call_id: int) -> None:
        call, other = self._calls.get(call_id), self._calls.get(other_call_id)
        if call is None or other is None:
            raise SipError("the call has ended")
        call.xferReplaces(other, pj.CallOpParam(True))

    def _reap(self) -> None:
        """Destroy ended calls (and their media ports) here, a poll after their last callback."""
        while self._ended:
            self._ended.pop().destroy()

    def _shutdown_calls(self, timeout: float) -> None:
        for call in list(self._calls.values()):
            call.hangup_with(503 if not call.answered else 200)
        waited = 0
        while self._calls and waited < timeout * 1000:
            self._ep.libHandleEvents(_POLL_MS)
            waited += _POLL_MS
        self._run_jobs()
        for call in list(self._calls.values()):
            self._call_ended(call)
        self._reap()
        self._unregister(timeout)

    def _unregister(self, timeout: float) -> None:
        if self._account is None or not self._account.unregister():
            return
        deadline = time.monotonic() + min(timeout, 3.0)
        while self.registration.state == "unregistering" and time.monotonic() < deadline:
            self._ep.libHandleEvents(_POLL_MS)

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
