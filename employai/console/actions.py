"""The console's actions (POST): each through the same function as the CLI, each logged as an operator action
(its kind and ids, never a caller's number or words), each refused without this process's CSRF token or from
another origin, and each form bounded (FORM_LIMIT) before and while it is read."""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, quote, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from employai.cli.calls import UsageError, cancel_scheduled, schedule_call
from employai.cli.memory import forget_caller, set_fact
from employai.cli.tasks import mark_task_done
from employai.runtime.recording import recordings_dir

from .guard import REFUSED_SITES, TooLarge, body_problem, bounded_receive

if TYPE_CHECKING:
    from .app import Console

log = logging.getLogger(__name__)


FORM_LIMIT = 64 * 1024  # the console's forms are a few fields


class Refused(Exception):
    def __init__(self, status: int = 403, text: str = "Refused: this form did not come from the console."):
        super().__init__(text)
        self.status, self.text = status, text


def same_origin(request: Request) -> bool:
    """A browser's POST names its page's origin; it must be the console's own (absent: not a browser's form)."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


def check_token(console: Console, token: str) -> None:
    """Raises Refused unless `token` is this process's CSRF token (compared in constant time)."""
    if not secrets.compare_digest(token.encode(), console.csrf.encode()):
        log.warning("an operator action was refused: no valid CSRF token or another origin")
        raise Refused


def check_sender(request: Request, limit: int) -> None:
    """Before any of the body is read: the console's own origin, not another site, a body of a declared length
    within `limit` (else Refused)."""
    if not same_origin(request) or request.headers.get("sec-fetch-site", "").lower() in REFUSED_SITES:
        log.warning("an operator action was refused: no valid CSRF token or another origin")
        raise Refused
    if problem := body_problem(request.headers, limit):
        raise Refused(*problem)


async def _form(request: Request) -> tuple[Console, dict[str, str]]:
    """The posted form (application/x-www-form-urlencoded, as the console's forms send), once it proves it came
    from the console: its origin and size are checked before it is read, and it is read at most FORM_LIMIT bytes."""
    console: Console = request.app.state.console
    check_sender(request, FORM_LIMIT)
    body = bytearray()
    try:
        async for chunk in Request(request.scope, bounded_receive(request.receive, FORM_LIMIT)).stream():
            body += chunk
    except TooLarge:
        raise Refused(413, f"The form is too large: at most {FORM_LIMIT} bytes.") from None
    form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    check_token(console, form.get("csrf", ""))
    return console, form


def _refused(refusal: Refused | None = None) -> Response:
    refusal = refusal or Refused()
    return PlainTextResponse(refusal.text, status_code=refusal.status)


Action = Callable[["Request", "Console", dict[str, str]], Awaitable[Response]]


def guarded(action: Action) -> Callable[[Request], Awaitable[Response]]:
    """An action runs only for a form that proves it came from the console (else 403), and is given it."""

    @functools.wraps(action)
    async def run(request: Request) -> Response:
        try:
            console, form = await _form(request)
        except Refused as refusal:
            return _refused(refusal)
        return await action(request, console, form)

    return run


def _done(action: str, location: str, **ids: int | str | bool) -> Response:
    log.info("operator action", extra={"action": action, "via": "console", **ids})
    return RedirectResponse(location, status_code=303)


@guarded
async def forget(request: Request, console: Console, form: dict[str, str]) -> Response:
    erased = await run_in_threadpool(forget_caller, console.store, request.path_params["caller"],
                                     recordings_dir(console.config))
    return _done("forget_caller", "/memory?forgotten=1", turns=erased.get("turns", 0),
                 recordings=erased.get("recordings", 0))


@guarded
async def fact(request: Request, console: Console, form: dict[str, str]) -> Response:
    """Correct one fact remembered of a caller (an empty value forgets it), as `employai memory set` does."""
    user = request.path_params["caller"]
    page = f"/memory/{quote(user, safe='')}"
    try:
        await run_in_threadpool(set_fact, console.store, user, form.get("key", ""), form.get("value", ""), "console")
    except ValueError as exc:  # set_fact logs the action once it is done
        return RedirectResponse(f"{page}?problem={quote(str(exc))}", status_code=303)
    return RedirectResponse(f"{page}?saved=1", status_code=303)


@guarded
async def schedule(request: Request, console: Console, form: dict[str, str]) -> Response:
    target, at, task = (form.get(k, "") for k in ("target", "at", "task"))
    try:
        scheduled_id, _, _ = await run_in_threadpool(schedule_call, console.store, console.config, target,
                                                     at or "now", task)
    except UsageError as exc:
        return RedirectResponse(f"/scheduled?problem={quote(str(exc))}", status_code=303)
    return _done("schedule_call", "/scheduled", scheduled_id=scheduled_id)


@guarded
async def cancel(request: Request, console: Console, form: dict[str, str]) -> Response:
    scheduled_id = request.path_params["scheduled_id"]
    cancelled = await run_in_threadpool(cancel_scheduled, console.store, scheduled_id)
    return _done("cancel_scheduled_call", "/scheduled", scheduled_id=scheduled_id, changed=cancelled)


@guarded
async def task_done(request: Request, console: Console, form: dict[str, str]) -> Response:
    task_id = request.path_params["task_id"]
    marked = await run_in_threadpool(mark_task_done, console.store, task_id)
    return _done("mark_task_done", "/tasks", task_id=task_id, changed=marked)


@guarded
async def hang_up(request: Request, console: Console, form: dict[str, str]) -> Response:
    call_id = request.path_params["call_id"]
    ended = console.bot.hang_up(call_id)  # on the event loop, where the bot keeps its calls
    return _done("hang_up", "/live", call_id=call_id, changed=ended)


@guarded
async def transfer(request: Request, console: Console, form: dict[str, str]) -> Response:
    """Put a live call through to an entry of `[transfer] directory` (the only numbers the bot ever dials)."""
    call_id, entry = request.path_params["call_id"], form.get("entry", "")
    started = console.bot.transfer(call_id, entry)  # on the event loop, where the bot keeps its calls
    return _done("transfer_call", "/live" if started else f"/live?problem={quote(NOT_TRANSFERRED)}",
                 call_id=call_id, entry=entry, changed=started)


NOT_TRANSFERRED = "The call was not transferred: it is no longer on the line, or the name is not in the directory."

ROUTES = [
    Route("/live/{call_id:int}/hangup", hang_up, methods=["POST"]),
    Route("/live/{call_id:int}/transfer", transfer, methods=["POST"]),
    Route("/memory/{caller}/forget", forget, methods=["POST"]),
    Route("/memory/{caller}/fact", fact, methods=["POST"]),
    Route("/scheduled", schedule, methods=["POST"]),
    Route("/scheduled/{scheduled_id:int}/cancel", cancel, methods=["POST"]),
    Route("/tasks/{task_id:int}/done", task_done, methods=["POST"]),
]
