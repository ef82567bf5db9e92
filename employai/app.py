"""The bot process: engines loaded once, the SIP agent, one conductor per call, clean shutdown on a signal."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

from memory.transcripts import TranscriptStore
from sip_config import Config
from telephony import CallEvents, CallHandle, IncomingCall, SipAgent

from .conductor import CallConductor
from .conversation import sync_profile_facts
from .engines import Engines, load_engines

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 8.0


def data_dir(config: Config) -> Path:
    return Path(config.data.dir).expanduser()


class Bot:
    def __init__(self, config: Config, engines: Engines, store: TranscriptStore):
        self._config, self._engines, self._store = config, engines, store
        self._loop: asyncio.AbstractEventLoop | None = None
        self._conductors: set[CallConductor] = set()
        self._tasks: set[asyncio.Task] = set()
        self.agent = SipAgent(config.sip, listener=self)

    def on_incoming(self, handle: CallHandle, invite: IncomingCall) -> CallEvents | None:
        """SIP thread: make the call's conductor and start it on the event loop."""
        assert self._loop is not None
        conductor = CallConductor(self._config, self._engines, self._store, handle, invite, self._loop)
        self._loop.call_soon_threadsafe(self._launch, conductor)
        return conductor

    def _launch(self, conductor: CallConductor) -> None:
        self._conductors.add(conductor)
        task = asyncio.create_task(conductor.run())
        self._tasks.add(task)
        task.add_done_callback(lambda t: (self._tasks.discard(t), self._conductors.discard(conductor)))

    async def serve(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        await asyncio.to_thread(self.agent.start)
        print(f"Employai is answering at {self.agent.uri}", flush=True)
        try:
            await stop.wait()
        finally:
            await self.shutdown()

    async def shutdown(self) -> None:
        """Say goodbye on every call and hang up, then stop SIP. Bounded: never hangs."""
        if self._conductors:
            finishing = [c.finish("shutdown", "shutdown") for c in list(self._conductors)]
            await asyncio.wait([asyncio.ensure_future(f) for f in finishing], timeout=SHUTDOWN_GRACE_S)
        await asyncio.to_thread(self.agent.stop)
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2.0)


async def run_bot(config: Config) -> None:
    engines = await asyncio.to_thread(load_engines, config)
    store = TranscriptStore(data_dir(config) / "employai.sqlite3", embedder=engines.embedder)
    store.prune(config.memory.retention_days)
    sync_profile_facts(config, store)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await Bot(config, engines, store).serve(stop)
    finally:
        store.close()
