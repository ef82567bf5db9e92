"""Telling the staff of each completed form: a configured command (the form as JSON on stdin) and/or an HTTP webhook
(the form POSTed as JSON), retried with backoff.

Event loop only: the command runs as a subprocess (asyncio), the POST in a worker thread (urllib blocks), so a call
is never held up. `send` never raises: a failure is logged (without the caller's data) and retried, `retries` times,
`retry_s` apart and doubled each time. `close()` gives deliveries in flight a moment at shutdown.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shlex
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime

from sip_config.schema import NotifySettings

log = logging.getLogger(__name__)

COMMAND_TIMEOUT_S = 10.0
WEBHOOK_TIMEOUT_S = 5.0
CLOSE_WAIT_S = 5.0


def form_payload(form: str, call_id: int | None, caller: str, values: Mapping[str, str],
                 created_at: datetime | None = None) -> dict:
    """What the staff are sent: {"form", "call_id", "caller" ('' when not identified), "values", "created_at"}."""
    when = (created_at or datetime.now()).astimezone().isoformat(timespec="seconds")
    return {"form": form, "call_id": call_id, "caller": caller, "values": dict(values), "created_at": when}


class Notifier:
    def __init__(self, settings: NotifySettings):
        self._settings = settings
        self._in_flight: set[asyncio.Task] = set()

    @property
    def enabled(self) -> bool:
        return bool(self._settings.command or self._settings.webhook_url)

    def pending(self) -> int:
        """Deliveries still going (retries included)."""
        return sum(1 for task in self._in_flight if not task.done())

    def submit(self, payload: dict) -> asyncio.Task | None:
        """Send in the background (the task is kept until it ends); None when nothing is configured."""
        if not self.enabled:
            return None
        return asyncio.get_running_loop().create_task(self.send(payload))

    async def send(self, payload: dict) -> bool:
        """Deliver to every configured channel; True when all of them took it. Never raises. The delivery is a task
        of its own: cancelling the caller of `send` (a call that ends) does not stop it; `close()` does."""
        if not self.enabled:
            return True
        try:
            body = json.dumps(payload).encode()
        except (TypeError, ValueError) as exc:
            log.error("a notification could not be encoded", extra={"error": str(exc)})
            return False
        task = asyncio.get_running_loop().create_task(self._send(body, payload))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)
        return await asyncio.shield(task)

    async def _send(self, body: bytes, payload: dict) -> bool:
        channels = []
        if self._settings.command:
            channels.append(self._deliver("command", self._run_command, body, payload))
        if self._settings.webhook_url:
            channels.append(self._deliver("webhook", self._post, body, payload))
        return all(await asyncio.gather(*channels))

    async def close(self, timeout_s: float = CLOSE_WAIT_S) -> None:
        """At shutdown: wait a moment for deliveries in flight, then give up on the rest (logged)."""
        waiting = {task for task in self._in_flight if not task.done()}
        if not waiting:
            return
        _, late = await asyncio.wait(waiting, timeout=timeout_s)
        for task in late:
            task.cancel()
        if late:
            log.warning("notifications still being retried at shutdown were dropped", extra={"dropped": len(late)})

    async def _deliver(self, channel: str, attempt: Callable[[bytes], Awaitable[str | None]], body: bytes,
                       payload: dict) -> bool:
        about = {"channel": channel, "form": payload.get("form"), "call_id": payload.get("call_id")}
        delay = self._settings.retry_s
        for number in range(1, self._settings.retries + 2):
            try:
                problem = await attempt(body)
            except Exception as exc:  # whatever goes wrong (no such program...), the call goes on
                problem = f"{type(exc).__name__}: {exc}"
            if problem is None:
                log.info("staff notified of a completed form", extra={**about, "attempt": number})
                return True
            log.warning("a notification failed", extra={**about, "attempt": number, "error": problem})
            if number <= self._settings.retries:
                await asyncio.sleep(delay)
                delay *= 2
        log.error("a notification was given up after all its retries", extra=about)
        return False

    async def _run_command(self, body: bytes) -> str | None:
        """Run the command with the JSON on stdin; None when it exits 0, else what went wrong."""
        process = await asyncio.create_subprocess_exec(
            *shlex.split(self._settings.command), stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        try:
            _, err = await asyncio.wait_for(process.communicate(body), COMMAND_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            await process.wait()
            return f"the command took longer than {COMMAND_TIMEOUT_S:.0f} s"
        if process.returncode != 0:
            log.debug("notify command output", extra={"stderr": err.decode(errors="replace")[-500:]})
            return f"the command exited with status {process.returncode}"
        return None

    async def _post(self, body: bytes) -> str | None:
        return await asyncio.to_thread(self._post_blocking, body)

    def _post_blocking(self, body: bytes) -> str | None:
        request = urllib.request.Request(self._settings.webhook_url, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            return f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            return f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
        return None if 200 <= status < 300 else f"HTTP {status}"
