"""The console's pages (GET): history, one call, live calls, callers' memory, scheduled calls, tasks, status."""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING

from jinja2 import Environment
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from employai.runtime.recording import find_recording, recordings_dir
from telephony.headers import normalise_user

from . import views
from .chart import latency_chart

if TYPE_CHECKING:
    from .app import Console


def _console(request: Request) -> Console:
    return request.app.state.console


def install_filters(env: Environment) -> None:
    env.filters["when"] = lambda t: datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S") if t else "-"
    env.filters["duration"] = _duration


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}:{rest:02d}"


async def home(request: Request) -> Response:
    return RedirectResponse("/calls", status_code=303)


async def history(request: Request) -> Response:
    console = _console(request)
    caller, day = request.query_params.get("caller", ""), request.query_params.get("date", "")
    calls = await run_in_threadpool(views.history, console.store, caller, day)
    return console.render(request, "history.html", page="calls", calls=calls, caller=caller, date=day)


async def call(request: Request) -> Response:
    console = _console(request)
    call_id = request.path_params["call_id"]
    record = await run_in_threadpool(console.store.call_record, call_id)
    if record is None:
        return PlainTextResponse("No such call.", status_code=404)
    turns = await run_in_threadpool(console.store.turns, call_id)
    recorded = find_recording(recordings_dir(console.config), call_id) is not None
    return console.render(request, "call.html", page="calls", call=record, turns=turns, chart=latency_chart(turns),
                          recorded=recorded)


async def recording(request: Request) -> Response:
    console = _console(request)
    path = find_recording(recordings_dir(console.config), request.path_params["call_id"])
    if path is None:
        return PlainTextResponse("No recording of that call.", status_code=404)
    return FileResponse(path, media_type="audio/wav")


async def live(request: Request) -> Response:
    console = _console(request)
    calls = console.bot.live_calls()  # on the event loop, where the bot keeps them
    transcripts = {}
    for c in calls:
        if c.call_id is not None:
            transcripts[c.call_id] = await run_in_threadpool(console.store.turns, c.call_id)
    return console.render(request, "live.html", page="live", calls=calls, transcripts=transcripts, now=time.time(),
                          directory=[e.name for e in console.config.transfer.directory],
                          problem=request.query_params.get("problem", ""))


async def memory(request: Request) -> Response:
    console = _console(request)
    callers = await run_in_threadpool(views.callers, console.store)
    return console.render(request, "memory.html", page="memory", callers=callers,
                          forgotten=request.query_params.get("forgotten") == "1")


async def caller(request: Request) -> Response:
    console = _console(request)
    user = normalise_user(request.path_params["caller"])  # keyed as calls and `employai memory show` key callers
    if not user:
        return PlainTextResponse("Nothing is remembered of anonymous callers.", status_code=404)
    shown = await run_in_threadpool(views.caller_memory, console.store, user)
    return console.render(request, "caller.html", page="memory", saved=request.query_params.get("saved") == "1",
                          problem=request.query_params.get("problem", ""), **shown)


async def forget_confirm(request: Request) -> Response:
    console = _console(request)
    return console.render(request, "forget.html", page="memory", user=request.path_params["caller"])


async def scheduled(request: Request) -> Response:
    console = _console(request)
    rows = await run_in_threadpool(views.scheduled, console.store)
    return console.render(request, "scheduled.html", page="scheduled", rows=rows,
                          problem=request.query_params.get("problem", ""))


async def tasks(request: Request) -> Response:
    console = _console(request)
    everything = request.query_params.get("all") == "1"
    found = await run_in_threadpool(console.store.forms.tasks, everything)
    return console.render(request, "tasks.html", page="tasks", tasks=found, all=everything)


async def status(request: Request) -> Response:
    console = _console(request)
    return console.render(request, "status.html", page="status", registration=console.bot.registration_state(),
                          config=views.running_config(console.config), live=len(console.bot.live_calls()))


ROUTES = [
    Route("/", home),
    Route("/calls", history),
    Route("/calls/{call_id:int}", call),
    Route("/recordings/{call_id:int}.wav", recording),
    Route("/live", live),
    Route("/memory", memory),
    Route("/memory/{caller}", caller),
    Route("/memory/{caller}/forget", forget_confirm),
    Route("/scheduled", scheduled),
    Route("/tasks", tasks),
    Route("/status", status),
]
