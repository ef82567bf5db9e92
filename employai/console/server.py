"""Serve the console with uvicorn on the bot's event loop, until the bot stops.

uvicorn's `Server.serve` would install its own SIGINT/SIGTERM handlers over the bot's: this server leaves signals
to the bot. A console that cannot listen (the port is taken) is reported and the bot answers calls without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Iterator

import uvicorn

from employai.runtime.metrics import Metrics
from memory.transcripts import TranscriptStore
from sip_config import Config

from .app import console_app
from .ports import BotState

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the bot owns the signals


def listening_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(False)
    return sock


async def run_console(config: Config, store: TranscriptStore, metrics: Metrics, bot: BotState,
                      stop: asyncio.Event) -> None:
    """Serve until `stop` is set."""
    host, port = config.console.host_port
    try:
        sock = listening_socket(host, port)
    except OSError as exc:
        log.error("the console could not listen; calls are answered without it",
                  extra={"listen": config.console.listen, "error": str(exc)})
        print(f"Console not started: cannot listen on {config.console.listen} ({exc.strerror})", flush=True)
        return
    token = os.environ.get(config.console.token_env, "") if config.console.token_env else ""
    app = console_app(config, store, metrics, bot, token)
    server = _Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off", log_level="warning"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    shown = f"[{host}]" if ":" in host else host
    print(f"Console at http://{shown}:{sock.getsockname()[1]}/", flush=True)
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait([serving, stopping], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        server.should_exit = True
        await asyncio.wait([serving], timeout=5)
        sock.close()
