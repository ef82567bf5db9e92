"""Serve the console with uvicorn on the bot's event loop, until the bot stops.

uvicorn's `Server.serve` would install its own SIGINT/SIGTERM handlers over the bot's: this server leaves signals
to the bot. The listening socket is bound before the bot loads its models (`claim_socket`): a console that cannot
listen (the port is taken, perhaps by a local user waiting for the operator's token) stops `employai run` with exit
2 naming `console.listen`, never a bot running without its console. Connections are bounded (LIMIT_CONCURRENCY,
KEEP_ALIVE_S), so idle or half-open ones cannot take the bot's file descriptors.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Iterator

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from employai.runtime.metrics import Metrics
from memory.transcripts import TranscriptStore
from sip_config import Config, ConfigError

from .app import console_app
from .ports import BotState

log = logging.getLogger(__name__)

LIMIT_CONCURRENCY = 64  # connections and tasks at once; more are answered 503
KEEP_ALIVE_S = 5  # an idle keep-alive connection is closed after this


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the bot owns the signals


class _Connection(H11Protocol):
    """uvicorn's HTTP/1.1 connection, whose idle timer also runs before the first request: a connection that sends
    nothing is closed after KEEP_ALIVE_S, as an idle keep-alive one is (any bytes received stop the timer)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self.timeout_keep_alive_handler)


def listening_socket(host: str, port: int) -> socket.socket:
    """Bound and listening at once: a socket only bound (SO_REUSEADDR) could be bound again by another program's
    SO_REUSEADDR socket, which would then listen first while the bot loads its models. Connections made before
    the console serves wait in the backlog."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(False)
    return sock


def claim_socket(config: Config) -> socket.socket:
    """The console's listening socket; ConfigError naming console.listen when it cannot be bound."""
    host, port = config.console.host_port
    try:
        return listening_socket(host, port)
    except OSError as exc:
        log.error("the console could not listen", extra={"listen": config.console.listen, "error": str(exc)})
        raise ConfigError("console.listen", f"the console cannot listen on {config.console.listen} "
                          f"({exc.strerror}); free that address or choose another") from None


async def run_console(config: Config, store: TranscriptStore, metrics: Metrics, bot: BotState,
                      stop: asyncio.Event, sock: socket.socket | None = None) -> None:
    """Serve on `sock` (else one bound now: ConfigError if it cannot be) until `stop` is set."""
    sock = sock or claim_socket(config)
    host = config.console.host_port[0]
    token = os.environ.get(config.console.token_env, "") if config.console.token_env else ""
    app = console_app(config, store, metrics, bot, token)
    server = _Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off", log_level="warning",
                                    http=_Connection, limit_concurrency=LIMIT_CONCURRENCY,
                                    timeout_keep_alive=KEEP_ALIVE_S))
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
