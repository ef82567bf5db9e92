"""`employai bench --calls 1,2,4,6,8`: N callers at once, several questions each, over real calls to one bot.

For each N a fresh round: N test callers (`employai dial`, each its own process, offering only PCMU so the bot
hears 8 kHz G.711) dial the bot at the same moment and ask QUESTIONS in flite voices other than the bot's own,
waiting for each reply. Reported per N: calls answered and refused, questions answered, voice-to-voice latency on
the callers' side (end of a question to the first reply audio) p50 / p95 / worst, and the bot's CPU use (its
process's user + system time over the round, as a share of the machine's cores).

The bot is started here (`employai run`, bundled models, its own data directory) with its capacity set above the
largest N, so what is measured is how it serves them, not whom it turns away; calls beyond the pjsua2 build's
call slots are refused by SIP all the same, and counted. The largest N that meets the targets (p50 <= 1.0 s,
p95 <= 1.5 s, no question unanswered, no call refused) is written to `<data dir>/capacity.json`, where the bot
reads it (`capacity.calls = 0`). A benchmark: it prints figures and checks nothing. Not part of `make test`.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from employai.harness.bench_bot import Bench
from employai.harness.bench_soak import DialResult
from employai.harness.eval_hearing import flite
from employai.runtime.cpu import cpu_model, machine_cores
from employai.runtime.progress import progress, say
from sip_config import Config
from speech.pcm import write_wav

QUESTIONS = ("What are your opening hours?", "How much do you charge to come out?",
             "Do you fix water heaters?", "Are you open on Saturdays?")
# --heavy: questions no fact answers, and the bot's model answers them (llm.open_replies = "model"): every turn
# runs the model and synthesises new audio, the most CPU a turn can take.
HEAVY_QUESTIONS = ("Can you tell me a bit about how your engineers work?", "What should I do while I wait?",
                   "Is it better to repair an old radiator or replace it?", "What do most people ask you about?")
HEAVY_TOML = '[llm]\nopen_replies = "model"\n'

VOICES = ("slt", "rms", "awb", "kal16")
TARGET_P50_S, TARGET_P95_S = 1.0, 1.5
BOT_TOML = "[capacity]\ncalls = 16\n"
BOT_SIP = "max_calls = 16\nmax_calls_per_source = 16\ninvites_per_source_per_s = 50"
CALL_TIMEOUT_S = 150.0


@dataclass
class Round:
    callers: int
    answered: int
    refused: int
    failed: int
    questions: int
    replies: int
    latencies_s: list[float]
    cpu_share: float  # of all cores, over the round
    seconds: float

    def fast_enough(self) -> bool:
        """The calls answered got every reply within the latency targets."""
        lat = self.latencies_s
        return (self.failed == 0 and self.replies == self.questions and bool(lat)
                and statistics.median(lat) <= TARGET_P50_S and _percentile(lat, 0.95) <= TARGET_P95_S)

    def meets_targets(self) -> bool:
        """Every caller served, every reply within the targets."""
        return self.refused == 0 and self.fast_enough()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _voices(workdir: Path, questions: tuple[str, ...]) -> list[list[Path]]:
    """Each voice asking the questions, as 16 kHz WAVs (a caller takes one voice)."""
    out = []
    for voice in VOICES:
        paths = []
        for i, text in enumerate(questions):
            path = workdir / f"{voice}-{i}.wav"
            if not path.exists():
                write_wav(path, flite(text, voice, workdir / "flite"))
            paths.append(path)
        out.append(paths)
    return out


def run_round(bench: Bench, voices: list[list[Path]], callers: int) -> Round:
    asked = len(voices[0])
    results: list[DialResult | None] = [None] * callers
    start = threading.Barrier(callers)

    def caller(i: int) -> None:
        start.wait()
        results[i] = bench.dial(voices[i % len(voices)], f"load{callers}-{i}", CALL_TIMEOUT_S)

    cpu_before, began = _cpu_seconds(bench.pid()), time.monotonic()
    threads = [threading.Thread(target=caller, args=(i,)) for i in range(callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.monotonic() - began
    cpu = (_cpu_seconds(bench.pid()) - cpu_before) / seconds / machine_cores()
    done = [r for r in results if r is not None]
    answered = [r for r in done if r.outcome in ("completed", "reply missing")]
    replies = [x for r in answered for x in r.replies]
    return Round(callers, len(answered), sum(r.outcome == "not answered" for r in done),
                 sum(r.outcome == "failed" for r in done), len(answered) * asked,
                 sum(x is not None for x in replies), [x for x in replies if x is not None], cpu, seconds)


def _table(rounds: list[Round]) -> None:
    print(f"{'calls':>5} {'answered':>8} {'refused':>7} {'questions':>10} {'p50':>7} {'p95':>7} {'worst':>7} "
          f"{'CPU':>5}  targets")
    for r in rounds:
        lat = r.latencies_s
        p50, p95, worst = ((f"{statistics.median(lat):.2f}s", f"{_percentile(lat, 0.95):.2f}s", f"{max(lat):.2f}s")
                           if lat else ("-", "-", "-"))
        print(f"{r.callers:>5} {r.answered:>8} {r.refused:>7} {f'{r.replies}/{r.questions}':>10} {p50:>7} "
              f"{p95:>7} {worst:>7} {r.cpu_share:>5.0%}  {'met' if r.meets_targets() else 'missed'}")


def run_bench_calls(config: Config, workdir: Path, counts: list[int], heavy: bool = False, cores: int = 0) -> int:
    """`cores`: the bot's capacity.cores (more than the machine has: more CPU lanes than fit, to compare)."""
    from employai.runtime.app import data_dir

    workdir = workdir.resolve() / ("calls-heavy" if heavy else "calls")
    shutil.rmtree(workdir / "bot", ignore_errors=True)
    workdir.mkdir(parents=True, exist_ok=True)
    questions = HEAVY_QUESTIONS if heavy else QUESTIONS
    voices = _voices(workdir, questions)
    bot_toml = BOT_TOML + (f"cores = {cores}\n" if cores else "") + (HEAVY_TOML if heavy else "")
    bench = Bench(workdir, voices[0], extra_toml=bot_toml, sip_toml=BOT_SIP)
    print(f"load benchmark{' (heavy: the model answers every question)' if heavy else ''}: "
          f"{', '.join(map(str, counts))} callers at once, {len(questions)} questions each, "
          f"on {platform.machine()} with {machine_cores()} cores; starting the bot", flush=True)
    bench.start()
    rounds = []
    try:
        bench.dial(voices[0][:1], "warm-up", CALL_TIMEOUT_S)
        for n in progress(counts, "rounds", unit="round"):
            rounds.append(run_round(bench, voices, n))
            say(f"  {n} at once: done in {rounds[-1].seconds:.0f} s")
    finally:
        print(f"  the bot {bench.stop()}")
    print()
    _table(rounds)
    # Calls served at once within the targets: a round's answered calls, when all their replies were fast enough
    # (a call refused by SIP for want of call slots is counted as refused, not as slow).
    served = max((r.answered for r in rounds if r.fast_enough()), default=0)
    report = {"measured": time.strftime("%Y-%m-%d %H:%M"), "cpu": cpu_model(), "cores": machine_cores(),
              "calls": served, "targets": {"p50_s": TARGET_P50_S, "p95_s": TARGET_P95_S},
              "rounds": [asdict(r) for r in rounds]}
    (workdir / "results.json").write_text(json.dumps(report, indent=1))
    if served and not heavy and not cores:
        target = data_dir(config) / "capacity.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps({k: report[k] for k in ("measured", "cpu", "cores", "calls", "targets")}))
        print(f"\n{served} calls at once meet the targets: written to {target} (the bot's capacity.calls = 0 "
              f"uses it)")
    else:
        print(f"\n{served} calls at once meet the targets" + ("" if heavy or cores else ": nothing written"))
    return 0
