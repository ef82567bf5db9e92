"""What every console request goes through before a page or an action sees it.

- Every response says it may not be framed (X-Frame-Options, CSP frame-ancestors), may load only the console's
  own resources (CSP), is not to be sniffed, and sends the Referer only to the console itself.
- A request a browser marks as sent by another site (`Sec-Fetch-Site: cross-site` or `same-site`) is refused, GET
  as well as POST: a page elsewhere cannot embed a recording, frame a page or make the bot render a heavy one.
- A request body is read through a byte counter that stops past a bound (`bounded_receive`), and a body with a
  Transfer-Encoding is refused: only a declared Content-Length, checked before anything is read, is accepted.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = ("default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'; "
       "base-uri 'none'")  # inline style: the latency chart's legend colours
SECURITY_HEADERS = [(b"x-frame-options", b"DENY"), (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin")]
REFUSED_SITES = ("cross-site", "same-site")


class TooLarge(Exception):
    """The body went past its bound while it was read."""


class SecurityHeaders:
    """Pure ASGI (no buffering): refuses other sites' requests, and adds the security headers to every response,
    errors and refusals of the middleware inside it included."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *((name, value) for name, value in SECURITY_HEADERS if name not in names)]
            await send(message)

        if Headers(scope=scope).get("sec-fetch-site", "").lower() in REFUSED_SITES:
            refused = PlainTextResponse("Refused: a request from another site.", status_code=403)
            await refused(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)


def body_problem(headers: Headers, limit: int) -> tuple[int, str] | None:
    """Why a body is refused before any of it is read (status, text), or None: a Transfer-Encoding (its length
    would be unknown, and a Content-Length beside it a lie), or a declared Content-Length over `limit`."""
    if "transfer-encoding" in headers:
        return 400, "A request body must say its length (Content-Length), without a Transfer-Encoding."
    length = headers.get("content-length", "")
    if length and not length.isdigit():
        return 400, "A request's Content-Length must be a number."
    if length and int(length) > limit:
        return 413, f"The request is too large: at most {limit} bytes."
    return None


def bounded_receive(receive: Receive, limit: int) -> Receive:
    """`receive`, counting the body's bytes: raises TooLarge once more than `limit` arrived."""
    received = 0

    async def counted() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise TooLarge
        return message

    return counted
