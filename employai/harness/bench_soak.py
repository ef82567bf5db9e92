"""The soak of `employai bench --reliability`: scripted callers keep the bot busy while its process is sampled.

`--calls` test callers (`employai dial` processes, a few questions each) call again as soon as a call ends, for
`--soak-minutes`. Every `SAMPLE_EVERY_S` seconds the bot's /proc entry gives its resident memory (VmRSS), its
thread count and its open file descriptors. Growth is measured from the first sample after the warm-up (models
paged in, first calls set up) to the last. A benchmark: it reports figures and checks nothing.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

from employai.runtime.progress import say, timer

SAMPLE_EVERY_S = 10.0
DIAL_TIMEOUT_S = 150.0  # one scripted call of a few questions, on a loaded machine


@dataclass
class DialResult:
    """One `employai dial` run: whether the bot answered, and which questions got a reply."""

    outcome: str  # "completed", "reply missing", "not answered", "failed"
    replies: list[float | None] = field(default_factory=list)  # voice-to-voice latency per question, s
    detail: str = ""


class Bench(Protocol):
    """What the soak needs of the benchmark (see bench_bot.Bench)."""

    def pid(self) -> int: ...

    def alive(self) -> bool: ...

    def dial(self, questions: list[Path], tag: str, timeout: float = ...) -> DialResult: ...


@dataclass
class Sample:
    """The bot process at one moment."""

    t_s: float  # since the soak began
    rss_kb: int
    threads: int
    fds: int


def sample(pid: int, t_s: float) -> Sample | None:
    """RSS, threads and open file descriptors of process `pid` from /proc (None if it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return Sample(t_s, int(fields["VmRSS"].split()[0]), int(fields["Threads"]), fds)


def warmup_s(minutes: float) -> float:
    """The samples before this are not a baseline: a quarter of the soak, at most a minute."""
    return min(60.0, minutes * 60 / 4)


def run_soak(bench: Bench, questions: list[Path], minutes: float, calls: int) -> dict:
    """Run the soak; a dict of what happened (for the report and the JSON)."""
    start = time.monotonic()
    deadline = start + minutes * 60
    stop = threading.Event()
    results: list[DialResult] = []
    lock = threading.Lock()

    def caller(index: int) -> None:
        stop.wait(index * 3.0)  # staggered, so the calls are not in step
        n = 0
        while not stop.is_set() and time.monotonic() < deadline:
            result = bench.dial(questions, f"soak-{index}-{n}", DIAL_TIMEOUT_S)
            n += 1
            with lock:
                results.append(result)
            if result.outcome in ("not answered", "failed"):
                stop.wait(2.0)  # no hammering a bot that does not answer

    pid = bench.pid()
    workers = [threading.Thread(target=caller, args=(i,), name=f"soak-caller-{i}", daemon=True)
               for i in range(calls)]
    for worker in workers:
        worker.start()
    samples: list[Sample] = []
    crash: dict | None = None
    next_sample = start
    with timer(minutes * 60, "soak") as clock:  # a bar of the soak's time on a terminal; nothing otherwise
        while time.monotonic() < deadline:
            now = time.monotonic()
            clock.update(max(0, min(int(now - start), clock.total) - clock.n))
            if now >= next_sample:
                s = sample(pid, now - start)
                if s is None or not bench.alive():
                    crash = {"after_s": round(now - start, 1), "pid": pid}
                    break
                samples.append(s)
                clock.set_postfix(calls=len(results), refresh=False)
                say(f"  soak {s.t_s:5.0f} s: rss {s.rss_kb / 1024:6.1f} MB  threads {s.threads:3d}  fds {s.fds:3d}  "
                    f"calls done {len(results)}")
                next_sample += SAMPLE_EVERY_S
            time.sleep(0.2)
    stop.set()
    for worker in workers:  # each call in flight ends by itself (its script or its timeout)
        worker.join(DIAL_TIMEOUT_S + 30)
    if crash is None:
        final = sample(pid, time.monotonic() - start)
        if final is None or not bench.alive():
            crash = {"after_s": round(time.monotonic() - start, 1), "pid": pid}
        else:
            samples.append(final)
    return _summary(results, samples, crash, minutes, calls, len(questions))


def _summary(results: list[DialResult], samples: list[Sample], crash: dict | None, minutes: float,
             calls: int, questions: int) -> dict:
    outcomes = Counter(r.outcome for r in results)
    replies = [x for r in results for x in r.replies]
    heard = sorted(x for x in replies if x is not None)
    warm = warmup_s(minutes)
    baseline = next((s for s in samples if s.t_s >= warm), samples[-1] if samples else None)
    growth: dict[str, dict] = {}
    if baseline is not None:
        last = samples[-1]
        for name in ("rss_kb", "threads", "fds"):
            growth[name] = {"after_warmup": getattr(baseline, name), "last": getattr(last, name),
                            "growth": getattr(last, name) - getattr(baseline, name),
                            "max": max(getattr(s, name) for s in samples),
                            "min": min(getattr(s, name) for s in samples)}
    answered = sum(n for o, n in outcomes.items() if o in ("completed", "reply missing"))
    return {
        "minutes": minutes, "calls_at_once": calls, "questions_per_call": questions, "warmup_s": warm,
        "attempted": len(results), "answered": answered, "completed": outcomes["completed"],
        "reply_missing": outcomes["reply missing"], "not_answered": outcomes["not answered"],
        "caller_failed": outcomes["failed"], "lost": len(results) - outcomes["completed"],
        "turns_asked": len(replies), "turns_replied": len(heard),
        "reply_p50_s": heard[len(heard) // 2] if heard else None,
        "reply_p95_s": heard[min(len(heard) - 1, round(0.95 * (len(heard) - 1)))] if heard else None,
        "failures": [r.detail for r in results if r.outcome in ("not answered", "failed")][:5],
        "crash": crash, "samples": [asdict(s) for s in samples], "growth": growth,
    }


def soak_table(soak: dict) -> list[str]:
    """The soak as plain-text lines."""
    lines = [f"  {soak['calls_at_once']} callers at once for {soak['minutes']:g} min, {soak['questions_per_call']} "
             f"questions a call, re-dialling: calls attempted {soak['attempted']}, answered {soak['answered']}, "
             f"completed with every reply {soak['completed']}, lost {soak['lost']} (not answered "
             f"{soak['not_answered']}, a reply missing {soak['reply_missing']}, caller failed "
             f"{soak['caller_failed']})",
             f"  turns replied {soak['turns_replied']} of {soak['turns_asked']} (voice-to-voice p50 "
             f"{_seconds(soak['reply_p50_s'])}, p95 {_seconds(soak['reply_p95_s'])});  crashes: "
             + ("none" if soak["crash"] is None else f"the bot died after {soak['crash']['after_s']} s")]
    if soak["growth"]:
        lines.append(f"  {'':10} {'after warm-up':>14} {'last':>10} {'growth':>10} {'max':>10}   "
                     f"({len(soak['samples'])} samples every {SAMPLE_EVERY_S:g} s, warm-up {soak['warmup_s']:g} s)")
        for name, label, scale in (("rss_kb", "RSS MB", 1024), ("threads", "threads", 1), ("fds", "open fds", 1)):
            g = soak["growth"][name]
            v = {k: (f"{g[k] / scale:.1f}" if scale != 1 else str(g[k])) for k in ("after_warmup", "last", "max")}
            grown = ("+" if g["growth"] >= 0 else "") + (f"{g['growth'] / scale:.1f}" if scale != 1 else
                                                         str(g["growth"]))
            lines.append(f"  {label:10} {v['after_warmup']:>14} {v['last']:>10} {grown:>10} {v['max']:>10}")
    if soak.get("bot_end_reasons"):
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(soak["bot_end_reasons"].items()))
        lines.append(f"  the bot's records of the soak's calls, by end reason: {reasons}")
    for detail in soak["failures"]:
        lines.append(f"  failure: {detail}")
    return lines


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} s"
