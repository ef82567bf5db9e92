"""The bot process: engines loaded once, the SIP agent (registered to a PBX when configured), one conductor per
call in or out, the outbound scheduler, the status file, and a clean shutdown on a signal."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from brain.switchboard import Directory
from employai.console.ports import LiveCall
from employai.runtime.business_prompt import BusinessPrompt
from employai.runtime.call_context import CallContext
from employai.runtime.capacity import Admission, serving_capacity
from employai.runtime.conductor import CallConductor
from employai.runtime.conversation import review_call, sync_profile_facts, wants_after_call_review
from employai.runtime.dial_policy import DialPolicy
from employai.runtime.engines import Engines, load_engines
from employai.runtime.housekeeping import Housekeeping
from employai.runtime.metrics import Metrics
from employai.runtime.recording import Recordings, forget_erased, recordings_dir
from employai.runtime.scheduler import Scheduler
from employai.runtime.status import StatusFile
from employai.runtime.storage import database_label, open_store
from memory.transcripts import TranscriptStore
from sip_config import Config
from telephony import CallEvents, CallHandle, IncomingCall, SipAgent, SipError
from telephony.account import RegistrationState

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 8.0


def data_dir(config: Config) -> Path:
    return Path(config.data.dir).expanduser()


def reached_by(context: CallContext) -> str:
    """How a call reached us, for the console."""
    if context.direction == "outbound":
        return f"scheduled call {context.scheduled_id}" if context.scheduled_id is not None else "we called"
    source = context.transferred_from
    if source is not None:
        claim = "" if source.verified else " (claimed by an untrusted source)"
        return f"transferred by {context.referrer or source.name or 'a colleague'}{claim}"
    return "dialled in"


def sip_domain(config: Config) -> str:
    """Where extensions live: the registration domain, else the registrar's host, else our own address."""
    return config.registration.effective_domain or config.sip.listen_address


class Bot:
    def __init__(self, config: Config, engines: Engines, store: TranscriptStore):
        self._config, self._engines, self._store = config, engines, store
        self._loop: asyncio.AbstractEventLoop | None = None
        self._conductors: set[CallConductor] = set()
        self._started: dict[CallConductor, float] = {}
        self._tasks: set[asyncio.Task] = set()
        self.directory = Directory(config.transfer, sip_domain(config))
        self.dial_policy = DialPolicy(self.directory, store.schedule.is_calling)
        self.agent = SipAgent(config.sip, listener=self, registration=config.registration,
                              on_registration=self._on_registration, dial_gate=self.dial_policy.check)
        self.status = StatusFile(data_dir(config) / "status.json", self.agent.uri, self.agent.aor)
        capacity, source = serving_capacity(config, data_dir(config))
        self.admission = Admission(capacity, config.capacity.when_full)
        self.metrics = Metrics(engines.lanes, store.database.size_bytes)
        self.recordings = Recordings(recordings_dir(config)) if config.recording.enabled else None
        # the knowledge base's words join the speech-to-text prompt once the database is open, and as it changes
        self.business_prompt = BusinessPrompt(config, engines.transcriber,
                                              store.database if store.archive is not None else None)
        log.info("calls served at once", extra={"calls": capacity, "from": source})
        if capacity <= config.sip.max_calls_per_source:
            log.warning("one source may fill every line: keep sip.max_calls_per_source below the calls served "
                        "(unless the only source is your own proxy)",
                        extra={"calls": capacity, "max_calls_per_source": config.sip.max_calls_per_source})
        self.status.describe(capacity=capacity, capacity_from=source,
                             cpu_lanes=engines.lanes.lanes if engines.lanes is not None else 0,
                             database=database_label(config))

    def on_incoming(self, handle: CallHandle, invite: IncomingCall) -> CallEvents | int | None:
        """SIP thread: make the call's conductor and start it on the event loop; beyond capacity, a conductor
        that says the lines are busy, or the SIP status that refuses the call."""
        assert self._loop is not None
        admitted = self.admission.admit()
        if not admitted:
            log.info("a call beyond capacity", extra={"serving": self.admission.serving,
                                                      "when_full": self.admission.when_full})
            if (status := self.admission.refusal()) is not None:
                return status
        try:
            conductor = self._conductor(handle, CallContext.inbound(invite, self.directory), busy=not admitted)
        except Exception:
            if admitted:  # the agent refuses the call: its line is free again
                self.admission.release()
            raise
        self._loop.call_soon_threadsafe(self._launch, conductor)
        return self._recorded(conductor)

    def _recorded(self, conductor: CallConductor) -> CallEvents:
        """The call's events, recorded when `[recording]` is on (not a caller only told the lines are busy)."""
        return conductor if self.recordings is None or conductor.busy else self.recordings.wrap(conductor)

    def _finish_recording(self, conductor: CallConductor) -> None:
        """Worker thread: the call's recording named after its record (or deleted: see Recordings.finish)."""
        if self.recordings is not None:
            record = self._store.call_record(conductor.call_id) if conductor.call_id is not None else None
            self.recordings.finish(conductor, conductor.call_id, record, conductor.context.remote.user)

    def _conductor(self, handle: CallHandle | None, context: CallContext, busy: bool = False) -> CallConductor:
        assert self._loop is not None
        return CallConductor(self._config, self._engines, self._store, handle, context, self._loop,
                             directory=self.directory, dial=self.dial_colleague, busy=busy, metrics=self.metrics)

    def _on_registration(self, state: RegistrationState) -> None:
        """SIP thread: the registration changed."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.status.update, state)
            self._loop.call_soon_threadsafe(self.metrics.registration, state.state)

    def _launch(self, conductor: CallConductor) -> asyncio.Task:
        self._conductors.add(conductor)
        self._started[conductor] = time.time()
        self.metrics.call_started(conductor.context.direction)
        self._live_status()
        task = asyncio.create_task(conductor.run())
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._done(t, conductor))
        return task

    def _live_status(self) -> None:
        """The calls now, for `employai status` (the operator's own file: who is on the line is shown there)."""
        live = [{"direction": c.context.direction, "caller": c.context.remote.user or "(withheld)",
                 "since": self._started.get(c, 0.0), "busy": c.busy} for c in self._conductors]
        self.status.update(calls=len(self._conductors), live=live)

    def _done(self, task: asyncio.Task, conductor: CallConductor) -> None:
        self._tasks.discard(task)
        self._conductors.discard(conductor)
        self._started.pop(conductor, None)
        if not conductor.busy:
            self.admission.release()
        self.metrics.call_ended(conductor.context.direction, conductor.end_reason or "caller_hangup")
        if self.recordings is not None:
            self._spawn(asyncio.to_thread(self._finish_recording, conductor))
        self._live_status()
        if conductor.call_id is not None and conductor.memory is not None and wants_after_call_review(self._config):
            review = asyncio.create_task(self._review(conductor))
            self._tasks.add(review)
            review.add_done_callback(self._tasks.discard)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def live_calls(self) -> list[LiveCall]:
        """The calls on the line now, for the console (event loop)."""
        return [LiveCall(c.call_id, c.context.direction, c.context.remote.user, reached_by(c.context),
                         self._started.get(c, 0.0), c.busy) for c in self._conductors]

    def registration_state(self) -> RegistrationState:
        return self.agent.registration

    def hang_up(self, call_id: int) -> bool:
        """The operator ends a call (the console): the shutdown line, then BYE; end reason operator_hangup."""
        for conductor in self._conductors:
            if conductor.call_id == call_id:
                self._spawn(conductor.finish("shutdown", "operator_hangup"))
                return True
        return False

    def knowledge_changed(self) -> None:
        """A document was added to or removed from the knowledge base (the console): the speech prompt follows."""
        self._spawn(self._refresh_prompt())

    async def _refresh_prompt(self) -> None:
        try:
            await asyncio.to_thread(self.business_prompt.refresh)
        except Exception:  # the prompt stays as it was: the bot answers calls all the same
            log.exception("the speech-to-text prompt could not be rebuilt; the next housekeeping sweep tries again")

    def transfer(self, call_id: int, entry: str) -> bool:
        """The operator puts a call through to a directory entry (the console), as the caller's shortcut key does;
        False when the call is not on the line or the name is not in `[transfer] directory`."""
        conductor = next((c for c in self._conductors if c.call_id == call_id), None)
        return conductor is not None and conductor.transfer(entry)

    async def _review(self, conductor: CallConductor) -> None:
        """The after-call memory keeper and task agent, off the call's path."""
        if conductor.call_id is None:
            return
        try:
            await review_call(self._config, self._engines.model_client, self._store, conductor.call_id,
                              conductor.memory)
        except Exception:
            log.exception("the after-call review failed; the call's transcript and facts are kept")

    async def dial_colleague(self, uri: str, events: CallEvents) -> CallHandle:
        """The second leg of an attended transfer (a directory entry); raises SipError."""
        return await self.dial(uri, events, "transfer_leg")

    async def dial(self, uri: str, events: CallEvents, purpose: str) -> CallHandle:
        """Place a call from the bot; the SIP agent refuses it (SipError) unless the dial policy allows it."""
        try:
            return await asyncio.to_thread(self.agent.make_call, uri, events, purpose=purpose,
                                           transfer_leg=purpose == "transfer_leg")
        except SipError:
            raise
        except Exception as exc:  # pj.Error for an unusable URI
            raise SipError(f"could not place the call: {exc}") from None

    async def place_call(self, context: CallContext) -> CallConductor | None:
        """Call out and run the call to its end (the scheduler's calls); None if it could not be placed."""
        if not self.admission.admit():  # the lines are full: the scheduler tries again later
            log.info("an outbound call waits: the lines are full", extra={"serving": self.admission.serving})
            return None
        conductor = self._conductor(None, context)
        try:
            conductor.attach(await self.dial(context.remote.uri, self._recorded(conductor), "scheduled"))
        except SipError:
            self.admission.release()
            if self.recordings is not None:
                self.recordings.discard(conductor)
            log.warning("an outbound call could not be placed")
            return None
        await asyncio.shield(self._launch(conductor))
        return conductor

    async def serve(self, stop: asyncio.Event, console_socket: socket.socket | None = None) -> None:
        """Answer calls until `stop` is set; the console on `console_socket` (bound by `run_bot` before the models
        load), else on one bound now (ConfigError naming console.listen if it cannot be)."""
        self._loop = asyncio.get_running_loop()
        if self._config.console.enabled and console_socket is None:
            from employai.console.server import claim_socket  # the web stack, only when it serves

            console_socket = claim_socket(self._config)
        if self.recordings is not None:
            await asyncio.to_thread(self.recordings.prepare, self._engines.synthesizer.synthesize,
                                    self._config.recording.announcement, self._config.memory.retention_days)
            await asyncio.to_thread(forget_erased, self.recordings.folder, self._store.anonymised_calls)
        await self._refresh_prompt()
        await asyncio.to_thread(self.agent.start)
        self.status.update(registration=self.agent.registration, calls=0)
        print(f"Employai is answering at {self.agent.uri}", flush=True)
        if self._config.registration.registrar:
            print(f"Registering as {self.agent.aor} with {self._config.registration.registrar}", flush=True)
        scheduler = asyncio.create_task(Scheduler(self._config, self._store, self.place_call,
                                                     self._config.registration.effective_domain,
                                                     metrics=self.metrics).run(stop))
        recordings = self.recordings.folder if self.recordings is not None else None
        housekeeping = asyncio.create_task(Housekeeping.of_bot(self._config, self._store, recordings,
                                                               also=(self.business_prompt.refresh,)).run(stop))
        if self._config.console.enabled:
            from employai.console.server import run_console  # the web stack, only when it serves

            self._spawn(run_console(self._config, self._store, self.metrics, self, stop, console_socket))
        try:
            await stop.wait()
        finally:
            await self.shutdown()
            await asyncio.wait([scheduler, housekeeping], timeout=5)
            self.status.stopped()

    async def shutdown(self) -> None:
        """Say goodbye on every call and hang up, then stop SIP (unregistering). Bounded: never hangs."""
        if self._conductors:
            finishing = [c.finish("shutdown", "shutdown") for c in list(self._conductors)]
            await asyncio.wait([asyncio.ensure_future(f) for f in finishing], timeout=SHUTDOWN_GRACE_S)
        await asyncio.to_thread(self.agent.stop)
        self.status.update(registration=self.agent.registration)
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2.0)


async def run_bot(config: Config) -> None:
    """Bind the console's address first, so a taken one stops the start (ConfigError naming console.listen, exit 2)
    before the models load, and the bot never runs without the console it was configured with."""
    console_socket = None
    if config.console.enabled:
        from employai.console.server import claim_socket  # the web stack, only when it serves

        console_socket = claim_socket(config)
    try:
        await _run_bot(config, console_socket)
    finally:
        if console_socket is not None:
            console_socket.close()


async def _run_bot(config: Config, console_socket: socket.socket | None) -> None:
    engines = await asyncio.to_thread(load_engines, config)
    store = open_store(config, embedder=engines.embedder)
    interrupted = store.close_interrupted()  # calls cut off by a crash or kill -9 of the last run
    if interrupted:
        log.warning("calls interrupted by the last run's end were closed", extra={"count": interrupted})
    store.prune(config.memory.retention_days)
    sync_profile_facts(config, store)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await Bot(config, engines, store).serve(stop, console_socket)
    finally:
        store.close()
