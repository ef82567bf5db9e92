"""One owner for the CPU's model work across all calls: lanes, each a thread budget, taken in order of urgency.

Whisper, llama.cpp and Piper each run several threads for one job (`stt.cpu_threads`, `llm.threads`); two such
jobs at once on a two-core machine fight for the same cores and both finish late. So every job of model work (a
transcription, one token of a reply, the synthesis of one sentence, an embedding) first takes one of `lanes`
lanes, with lanes x threads per job <= cores: no oversubscription. When a lane frees, the waiting job nearest to
a caller's ear takes it:

    1 FIRST_AUDIO   the synthesis of a reply's first sentence
    2 FIRST_TOKENS  the model's tokens (and the turn's embeddings) until a reply's first audio exists
    3 TRANSCRIPT    the transcription of a finished turn; the rest of a reply once its first audio is queued
    4 SPECULATIVE   work prepared during a pause that may yet be dropped (the caller may go on talking)
    5 AFTER_CALL    summaries and memory work once a call has ended, and anything no call is waiting for

A job's urgency is asked when the lane is handed over, not when it started waiting: a reply prepared during a
pause becomes urgent the moment the pause proves to be the end of the turn. Ties go to the job that waited
longest. A job is never interrupted; the model's reply is cut into one job per token, so a caller's first
tokens wait at most for one token, one transcription or one sentence of another call's.

Who is asking: `URGENCY` (a context variable) holds the current turn's `Urgency`; asyncio copies it into tasks
and `asyncio.to_thread`, and the engine wrappers read it in their worker thread. Thread-safe.
"""

from __future__ import annotations

import contextvars
import itertools
import os
import platform
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Protocol, TypeVar

T = TypeVar("T")


class Level(IntEnum):
    FIRST_AUDIO = 1
    FIRST_TOKENS = 2
    TRANSCRIPT = 3
    SPECULATIVE = 4
    AFTER_CALL = 5


class Urgency(Protocol):
    """How urgent a call's work of one kind is now: "audio" (synthesis), "tokens" (the model, embeddings),
    "transcript" (Whisper)."""

    def level(self, stage: str) -> Level: ...


@dataclass(frozen=True)
class Fixed:
    """The same urgency for every stage (a finished turn's transcription, after-call work)."""

    value: Level

    def level(self, stage: str) -> Level:
        return self.value


@dataclass
class Pending:
    """A transcription made during a pause: speculative until the pause proves to be the end of the turn."""

    final: bool = False

    def level(self, stage: str) -> Level:
        return Level.TRANSCRIPT if self.final else Level.SPECULATIVE


FINISHED_TURN = Fixed(Level.TRANSCRIPT)  # a turn's transcription once the turn is over

URGENCY: contextvars.ContextVar[Urgency | None] = contextvars.ContextVar("employai_cpu_urgency", default=None)


def current_level(stage: str) -> Callable[[], Level]:
    """The urgency of the work the current context asks for, to be asked again when a lane frees."""
    urgency = URGENCY.get()
    if urgency is None:
        return lambda: Level.AFTER_CALL
    return lambda: urgency.level(stage)


@dataclass
class _Waiter:
    level: Callable[[], Level]
    order: int
    granted: bool = False


@dataclass
class LaneStats:
    """What the lanes did, for the logs, `employai status` and the benchmarks."""

    jobs: int = 0
    busy_s: float = 0.0
    waited_s: float = 0.0
    most_waiting: int = 0
    by_level: dict[int, int] = field(default_factory=dict)


class CpuLanes:
    """`lanes` lanes of model work, taken in order of urgency (then of arrival)."""

    def __init__(self, lanes: int):
        if lanes < 1:
            raise ValueError("at least one lane")
        self.lanes = lanes
        self._free = lanes
        self._waiting: list[_Waiter] = []
        self._cond = threading.Condition()
        self._order = itertools.count()
        self.stats = LaneStats()

    @property
    def waiting(self) -> int:
        with self._cond:
            return len(self._waiting)

    @contextmanager
    def hold(self, level: Callable[[], Level]) -> Iterator[None]:
        """Hold a lane for one job (blocking; a worker thread, never the event loop)."""
        waiter = _Waiter(level, next(self._order))
        asked = time.monotonic()
        with self._cond:
            self._waiting.append(waiter)
            self.stats.most_waiting = max(self.stats.most_waiting, len(self._waiting))
            self._hand_over()
            while not waiter.granted:
                self._cond.wait()
        started = time.monotonic()
        try:
            yield
        finally:
            done = time.monotonic()
            with self._cond:
                self.stats.jobs += 1
                self.stats.busy_s += done - started
                self.stats.waited_s += started - asked
                granted_level = int(level())
                self.stats.by_level[granted_level] = self.stats.by_level.get(granted_level, 0) + 1
                self._free += 1
                self._hand_over()

    def run(self, level: Callable[[], Level], fn: Callable[[], T]) -> T:
        with self.hold(level):
            return fn()

    def _hand_over(self) -> None:
        """Give free lanes to the most urgent waiters (the lock is held)."""
        granted = False
        while self._free > 0 and self._waiting:
            best = min(self._waiting, key=lambda w: (w.level(), w.order))
            self._waiting.remove(best)
            best.granted = True
            self._free -= 1
            granted = True
        if granted:
            self._cond.notify_all()


def machine_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def cpu_model() -> str:
    """The processor's model name (what a measurement was made on), or the machine type when unknown."""
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def lanes_for(cores: int, threads_per_job: int) -> int:
    """As many lanes as the cores hold jobs of `threads_per_job` threads, at least one."""
    return max(1, cores // max(1, threads_per_job))
