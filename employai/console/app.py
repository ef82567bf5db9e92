"""The console's Starlette application: pages, actions, /metrics, the login rule and the CSRF defence.

- On loopback no login is asked; with `console.token_env` every request carries the token (`Authorization:
  Bearer TOKEN`, or as the password of HTTP Basic, which a browser asks for).
- Every action is a POST carrying this process's CSRF token (a hidden form field); a POST whose Origin is not the
  console itself is refused. A page of another site cannot make the operator's browser act.
- Every response forbids framing and loads only the console's own resources (CSP); a request a browser marks as
  another site's (Sec-Fetch-Site) is refused, GET too (`guard`).
- Pages are server-rendered with Jinja2 (autoescape on: what callers said is shown as text, never markup), with
  no asset from outside the package.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp

from employai.runtime.metrics import CONTENT_TYPE, Metrics
from memory.transcripts import TranscriptStore
from sip_config import Config

from . import actions, knowledge, pages
from .guard import SecurityHeaders
from .ports import BotState

HERE = Path(__file__).parent
LOOPBACK_NAMES = ["127.0.0.1", "localhost", "::1", "[::1]"]


@dataclass
class Console:
    config: Config
    store: TranscriptStore
    metrics: Metrics
    bot: BotState
    templates: Jinja2Templates
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    def render(self, request: Request, name: str, **context: object) -> Response:
        return self.templates.TemplateResponse(request, name, {"csrf": self.csrf, **context})


def authorised(header: str, token: str) -> bool:
    """`Bearer TOKEN`, or HTTP Basic with TOKEN as the password (any user name)."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return secrets.compare_digest(value.strip().encode(), token.encode())
    if scheme.lower() == "basic":
        try:
            _, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return secrets.compare_digest(password.encode(), token.encode())
    return False


class TokenGate(BaseHTTPMiddleware):
    def __init__(self, app: ASGIApp, token: str):
        super().__init__(app)
        self._token = token

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if not authorised(request.headers.get("authorization", ""), self._token):
            return PlainTextResponse("A token is needed.", status_code=401,
                                     headers={"WWW-Authenticate": 'Basic realm="employai console"'})
        return await call_next(request)


async def metrics_endpoint(request: Request) -> Response:
    console: Console = request.app.state.console
    text = await run_in_threadpool(console.metrics.exposition)  # the database's size is read from it
    return Response(text, media_type=CONTENT_TYPE)


def console_app(config: Config, store: TranscriptStore, metrics: Metrics, bot: BotState, token: str = "") -> Starlette:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True))
    pages.install_filters(env)
    # On loopback without a login, only loopback names are served: a page whose own name resolves to 127.0.0.1
    # (DNS rebinding) gets 400 instead of the operator's data. With a token, the token guards every request.
    # Outermost: other sites' requests are refused and every response (a 401 or 400 too) carries the headers.
    middleware = [Middleware(SecurityHeaders),
                  Middleware(TokenGate, token=token) if token else
                  Middleware(TrustedHostMiddleware, allowed_hosts=LOOPBACK_NAMES)]
    routes = [*pages.ROUTES, *actions.ROUTES, *knowledge.ROUTES, Route("/metrics", metrics_endpoint),
              Mount("/static", StaticFiles(directory=HERE / "static"), name="static")]
    app = Starlette(routes=routes, middleware=middleware)
    app.state.console = Console(config, store, metrics, bot, Jinja2Templates(env=env))
    app.state.knowledge_jobs = knowledge.Jobs()
    return app
