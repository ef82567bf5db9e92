"""Prometheus metrics of one bot process, in a registry of its own (never prometheus_client's global one).

The bot tells a `Metrics` what happened (a call began or ended, a finished call's turns, the registration changed,
a scheduled attempt ended); what is read at scrape time (the CPU lanes' queue and busy time, the database's size)
is collected then, from the narrow `LaneView` and the database's `size_bytes` (a scrape may wait on the database:
serve it from a worker thread). `NoMetrics` is the same interface doing nothing
(tests, the CLI). Names:

    employai_calls_total{direction,end_reason}        calls ended
    employai_active_calls                             calls on the line now
    employai_turn_latency_seconds                     the caller's end of speech to the reply's first frame sent
    employai_turn_stage_seconds{stage}                each stage's own share of that: stt (end of speech to
                                                      transcript), first_token, first_audio, first_frame
    employai_registration_state{state}                1 for the registration's current state
    employai_scheduled_call_attempts_total{outcome}   scheduled-call attempts ended: answered, busy, no_answer, failed
    employai_engine_queue_depth                       model jobs waiting for a CPU lane
    employai_engine_busy_seconds_total                time the CPU lanes spent on model work
    employai_engine_jobs_total                        model jobs run
    employai_engine_lanes                             CPU lanes
    employai_database_size_bytes                      the SQLite file with its write-ahead log, or on PostgreSQL
                                                      the database (the schema's tables when data.url names one)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from employai.runtime.cpu import LaneStats
from memory.transcripts import TurnTiming

log = logging.getLogger(__name__)

REGISTRATION_STATES = ("off", "registering", "registered", "failed", "unregistering", "unregistered")
STAGES = (("stt", "speech_end", "transcript_ready"), ("first_token", "transcript_ready", "first_token"),
          ("first_audio", "first_token", "first_audio"), ("first_frame", "first_audio", "first_frame"))
LATENCY_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0)
STAGE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6, 0.8, 1.0, 2.0, 5.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class LaneView(Protocol):
    """What the metrics read of the CPU lanes (`employai.runtime.cpu.CpuLanes`)."""

    @property
    def lanes(self) -> int: ...
    @property
    def waiting(self) -> int: ...
    @property
    def stats(self) -> LaneStats: ...  # jobs run and seconds busy so far


def stage_durations(timing: TurnTiming) -> dict[str, float]:
    """Each stage's own duration in seconds, where both its ends were timed (and in order)."""
    out = {}
    for stage, start, end in STAGES:
        began, ended = getattr(timing, start), getattr(timing, end)
        if began is not None and ended is not None and ended >= began:
            out[stage] = ended - began
    return out


def turn_latency(timing: TurnTiming) -> float | None:
    """End of the caller's speech to the reply's first frame sent, when both were timed."""
    if timing.speech_end is None or timing.first_frame is None or timing.first_frame < timing.speech_end:
        return None
    return timing.first_frame - timing.speech_end


class CallMetrics(Protocol):
    """What the bot reports as it happens."""

    def call_started(self, direction: str) -> None: ...
    def call_ended(self, direction: str, end_reason: str) -> None: ...
    def turns(self, timings: Iterable[TurnTiming]) -> None: ...
    def registration(self, state: str) -> None: ...
    def scheduled_attempt(self, outcome: str) -> None: ...


class NoMetrics:
    """Counts nothing: for code run without a bot (tests, the CLI)."""

    def call_started(self, direction: str) -> None:
        pass

    def call_ended(self, direction: str, end_reason: str) -> None:
        pass

    def turns(self, timings: Iterable[TurnTiming]) -> None:
        pass

    def registration(self, state: str) -> None:
        pass

    def scheduled_attempt(self, outcome: str) -> None:
        pass


class _Sampled(Collector):
    """Values read at scrape time."""

    def __init__(self, lanes: LaneView | None, database_size: Callable[[], int] | None):
        self._lanes, self._database_size = lanes, database_size

    def collect(self) -> Iterator[Metric]:
        if self._lanes is not None:
            stats = self._lanes.stats
            jobs, busy_s = stats.jobs, stats.busy_s
            yield GaugeMetricFamily("employai_engine_lanes", "CPU lanes of model work", value=self._lanes.lanes)
            yield GaugeMetricFamily("employai_engine_queue_depth", "Model jobs waiting for a CPU lane",
                                    value=self._lanes.waiting)
            yield CounterMetricFamily("employai_engine_busy_seconds", "Seconds the CPU lanes spent on model work",
                                      value=busy_s)
            yield CounterMetricFamily("employai_engine_jobs", "Model jobs run on the CPU lanes", value=jobs)
        if self._database_size is not None:
            try:
                size = self._database_size()
            except Exception as exc:  # the server is unreachable: the other metrics are still served
                log.debug("the database size could not be read", extra={"error": type(exc).__name__})
                return
            yield GaugeMetricFamily("employai_database_size_bytes", "The room the bot's data takes in its database",
                                    value=size)


class Metrics:
    """The bot's metrics, in a private registry. Event loop (or any thread: prometheus_client is thread-safe)."""

    def __init__(self, lanes: LaneView | None = None, database_size: Callable[[], int] | None = None):
        self.registry = r = CollectorRegistry(auto_describe=True)
        self._calls = Counter("employai_calls", "Calls ended, by direction and end reason",
                              ["direction", "end_reason"], registry=r)
        self._active = Gauge("employai_active_calls", "Calls on the line now", registry=r)
        self._latency = Histogram("employai_turn_latency_seconds",
                                  "The caller's end of speech to the reply's first audio frame sent",
                                  buckets=LATENCY_BUCKETS, registry=r)
        self._stages = Histogram("employai_turn_stage_seconds",
                                 "Each stage of a turn: stt, first_token, first_audio, first_frame",
                                 ["stage"], buckets=STAGE_BUCKETS, registry=r)
        self._registration = Gauge("employai_registration_state", "1 for the SIP registration's current state",
                                   ["state"], registry=r)
        self._attempts = Counter("employai_scheduled_call_attempts", "Scheduled-call attempts ended, by outcome",
                                 ["outcome"], registry=r)
        for stage, _, _ in STAGES:
            self._stages.labels(stage)
        self.registration("off")
        r.register(_Sampled(lanes, database_size))

    def call_started(self, direction: str) -> None:
        self._active.inc()

    def call_ended(self, direction: str, end_reason: str) -> None:
        self._active.dec()
        self._calls.labels(direction, end_reason).inc()

    def turns(self, timings: Iterable[TurnTiming]) -> None:
        for timing in timings:
            if (latency := turn_latency(timing)) is not None:
                self._latency.observe(latency)
            for stage, seconds in stage_durations(timing).items():
                self._stages.labels(stage).observe(seconds)

    def registration(self, state: str) -> None:
        for known in REGISTRATION_STATES:
            self._registration.labels(known).set(1 if known == state else 0)

    def scheduled_attempt(self, outcome: str) -> None:
        self._attempts.labels(outcome).inc()

    def exposition(self) -> bytes:
        """The Prometheus text format."""
        return generate_latest(self.registry)
