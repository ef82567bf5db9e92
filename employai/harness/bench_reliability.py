"""`employai bench --reliability`: how the bot stands up to floods, hostile requests, kill -9 and a long day.

It starts its own bot (`employai run` on the bundled models, loopback only) and runs, in order:

1. Flood: SIPp's built-in `uac` scenario from one stranger's address (FLOOD_SOURCE) at FLOODS rates, each
   followed by a legitimate call from 127.0.0.1 (`employai dial` saying one question).
2. Torture: the `sip_torture` corpus over raw UDP/TCP from TORTURE_SOURCE, then a legitimate call.
3. kill -9 in the middle of a call, then a restart on the same data directory: is the cut-off call closed as
   'interrupted', how many of its turns were kept, how long until the bot answers again.
4. Soak (`bench_soak`): concurrent scripted callers for `--soak-minutes`, with the bot's RSS, threads and file
   descriptors sampled from /proc.

All traffic stays on 127.0.0.0/8. The bot trusts 127.0.0.1 only (its "PBX"), so the flood and the torture come
from strangers. The bot under test and the scripted caller are `bench_bot.Bench`. On a terminal a bar shows the
stages done (and the soak's time); piped, the output is the plain lines. A benchmark: it prints figures (and saves
them as JSON) and checks nothing. Not part of `make test`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from employai.harness.bench_bot import BOT_SIP, Bench, log_errors
from employai.harness.bench_soak import run_soak, soak_table
from employai.harness.launcher import free_port
from employai.harness.sip_torture import CALLER, CORPUS, expected, send_corpus
from employai.runtime.progress import say, steps
from sip_config.schema import Config

# (INVITEs a second, INVITEs in all, ms an answered call is held): at most FLOOD_AT_ONCE calls at once. The
# held run places the legitimate call while the stranger's calls are up; the others place it after the flood.
FLOODS = ((100, 300, 0), (400, 600, 0), (20, 100, 20000))
FLOOD_AT_ONCE = 100
FLOOD_SOURCE = "127.0.0.3"
TORTURE_SOURCE = "127.0.0.4"
QUESTIONS = ["What are your opening hours?", "How much does a visit cost?", "Are you open on Saturday?"]


def _legit(bench: Bench, tag: str) -> dict:
    result = bench.dial(bench.questions[:1], tag, 60.0)
    return {"outcome": result.outcome, "latency_s": result.replies[0] if result.replies else None,
            "detail": result.detail}


def _parse_sipp_messages(path: Path) -> dict:
    """INVITEs SIPp sent and the final answer each got, from its -trace_msg log."""
    invites: Counter[str] = Counter()
    finals: dict[str, int] = {}
    received: Counter[int] = Counter()
    text = path.read_text(errors="replace") if path.exists() else ""
    for block in re.split(r"\n-{20,} [^\n]*\n", "\n" + text):
        head, _, message = block.strip().partition("\n\n")
        call_id = re.search(r"(?im)^Call-ID:\s*(\S+)", message)
        cseq = re.search(r"(?im)^CSeq:\s*\d+\s+(\w+)", message)
        if call_id is None or cseq is None:
            continue
        if "sent" in head and message.startswith("INVITE "):
            invites[call_id.group(1)] += 1
        status = re.match(r"SIP/2\.0 (\d{3})", message)
        if "received" in head and status:
            received[int(status.group(1))] += 1
            if cseq.group(1) == "INVITE" and int(status.group(1)) >= 200:
                finals.setdefault(call_id.group(1), int(status.group(1)))
    by_status = Counter(finals.values())
    return {"invites": len(invites), "invite_retransmissions": sum(invites.values()) - len(invites),
            "final_by_status": dict(sorted(by_status.items())), "no_final": len(set(invites) - set(finals)),
            "responses_received": dict(sorted(received.items()))}


def flood(bench: Bench, ran: Callable[[], object] = lambda: None) -> list[dict]:
    """The FLOODS in turn (`ran` after each: the progress bar)."""
    runs = []
    for rate, total, hold_ms in FLOODS:
        bench.new_log()
        out_dir = bench.workdir / f"flood-{rate}-{hold_ms}"
        out_dir.mkdir(exist_ok=True)
        messages = out_dir / "messages.log"
        cmd = ["sipp", "-sn", "uac", f"127.0.0.1:{bench.bot.port}", "-s", "employai", "-i", FLOOD_SOURCE,
               "-p", str(free_port()), "-mp", str(free_port()), "-r", str(rate), "-l", str(FLOOD_AT_ONCE),
               "-m", str(total), "-d", str(hold_ms), "-timeout", "40s", "-nostdin", "-trace_msg",
               "-message_file", str(messages)]
        say(f"  flood: {total} INVITEs at {rate}/s from {FLOOD_SOURCE}, answered calls held {hold_ms} ms")
        began = time.monotonic()
        sipp = subprocess.Popen(cmd, cwd=out_dir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        legit = None
        if hold_ms:
            time.sleep(2.0)
            legit = _legit(bench, f"during-flood-{rate}")
        try:
            sipp.wait(60)
        except subprocess.TimeoutExpired:
            sipp.kill()
            sipp.wait(5)
        run = {"rate": rate, "total": total, "at_once": FLOOD_AT_ONCE, "hold_ms": hold_ms,
               "seconds": round(time.monotonic() - began, 1), **_parse_sipp_messages(messages), "pid": bench.pid()}
        time.sleep(1.0)
        run["bot_survived"] = bench.alive()
        run["bot_log_errors"] = log_errors(bench.new_log())
        bench.ensure(f"flood at {rate}/s")
        run["legit_when"] = "during" if legit is not None else "after"
        run["legit_call"] = legit if legit is not None else _legit(bench, f"after-flood-{rate}")
        run["bot_log_errors"] += log_errors(bench.new_log())
        runs.append(run)
        ran()
    return runs


def torture(bench: Bench) -> dict:
    bench.new_log()
    say(f"  torture: {len(CORPUS)} messages from {TORTURE_SOURCE}")
    exchanges = send_corpus(("127.0.0.1", bench.bot.port), TORTURE_SOURCE)
    rows = [{"name": t.name, "what": t.what, "transport": t.transport, "expect": t.expect, "got": e.summary(),
             "final": e.final, "as_expected": expected(t.expect, e.final)}
            for t, e in zip(CORPUS, exchanges, strict=True)]
    time.sleep(1.0)
    survived = bench.alive()
    errors = log_errors(bench.new_log())
    bench.ensure("torture")
    legit = _legit(bench, "after-torture")
    return {"messages": rows, "bot_survived": survived, "legit_call": legit,
            "bot_log_errors": errors + log_errors(bench.new_log())}


def torture_calls(bench: Bench) -> dict:
    """The bot's records of calls from torture requests: the sender hangs up every answered one at once, so a
    record that lasted longer is a call the bot went on with although the caller never got its answer."""
    calls = [c for c in bench.bot.calls() if f"sip:{CALLER}@" in c["remote_uri"]]
    long = [c for c in calls if (c["ended_at"] or time.time()) - c["started_at"] > 5.0]
    return {"recorded": len(calls), "lasting_over_5s": [
        {"id": c["id"], "display_name_chars": len(c["display_name"]), "end_reason": c["end_reason"],
         "seconds": round((c["ended_at"] or time.time()) - c["started_at"], 1),
         "turns": len(bench.bot.turns(c["id"]))} for c in long]}


def kill_restart(bench: Bench) -> dict:
    """A call of three questions; kill -9 a few seconds after its first reply is recorded; restart."""
    bench.ensure("before kill -9")
    caller = subprocess.Popen(bench.dial_command(bench.questions, "killed-call", 120.0), stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    call: sqlite3.Row | None = None
    turns: list[sqlite3.Row] = []
    deadline, began = time.monotonic() + 90, time.time()
    try:
        while time.monotonic() < deadline and len(turns) < 3:  # greeting, first question, first reply
            time.sleep(0.2)
            calls = [c for c in bench.bot.calls()  # ours: the test caller is sip:tester@...
                     if c["ended_at"] is None and c["started_at"] >= began and "tester@" in c["remote_uri"]]
            call = calls[-1] if calls else call
            turns = bench.bot.turns(call["id"]) if call is not None else []
        time.sleep(2.5)  # into the second question: a turn in flight
        if call is not None:
            turns = bench.bot.turns(call["id"])
        old_pid = bench.pid()
        bench.bot.proc.send_signal(signal.SIGKILL)
        bench.bot.proc.wait(10)
    finally:
        caller.kill()
        caller.wait(10)
    bench.new_log()
    ready_s = bench.start()
    answered_s = bench.probe()
    result: dict = {"killed_pid": old_pid, "new_pid": bench.pid(), "restart_ready_s": round(ready_s, 2),
                    "restart_answered_s": None if answered_s is None else round(ready_s + answered_s, 2),
                    "call_found": call is not None, "turns_before_kill": len(turns)}
    if call is not None:
        after = bench.bot.turns(call["id"])
        closed = next(c for c in bench.bot.calls() if c["id"] == call["id"])
        result.update(end_reason=closed["end_reason"], ended_at_set=closed["ended_at"] is not None,
                      closed_at_last_turn=bool(after) and closed["ended_at"] == max(t["created_at"] for t in after),
                      turns_kept=len(after), roles_kept="".join(t["role"][0] for t in after))
    result["calls_closed_as_interrupted"] = sum(c["end_reason"] == "interrupted" for c in bench.bot.calls())
    log = bench.new_log()
    result["restart_logged_closing"] = "calls interrupted by the last run's end were closed" in log
    result["bot_log_errors"] = log_errors(log)
    return result


def _print_report(report: dict) -> None:
    print(f"\nEmployai reliability benchmark, {report['started']}, {report['machine']}")
    print(f"bot: `employai run` on the bundled models, sip: {BOT_SIP}, other settings default")
    print(f"\n1. Flood (SIPp uac from {FLOOD_SOURCE}, at most {FLOOD_AT_ONCE} calls at once), and a legitimate "
          f"call from 127.0.0.1")
    print(f"  {'rate':>6} {'held':>5} {'INVITEs':>8} {'retrans':>8}  {'final answers by status':<30} {'none':>5} "
          f"{'s':>5}  {'bot':<5} legitimate call")
    for r in report["flood"]:
        statuses = " ".join(f"{k}:{v}" for k, v in r["final_by_status"].items()) or "-"
        legit = r["legit_call"]
        answer = f"{r['legit_when']}: {legit['outcome']}" + (
            f", reply after {legit['latency_s']:.1f} s" if legit["latency_s"] else "")
        print(f"  {r['rate']:>4}/s {r['hold_ms'] / 1000:>4g}s {r['invites']:>8} {r['invite_retransmissions']:>8}  "
              f"{statuses:<30} {r['no_final']:>5} {r['seconds']:>5}  {'up' if r['bot_survived'] else 'DIED':<5} "
              f"{answer}")
    t = report["torture"]
    odd = [m for m in t["messages"] if not m["as_expected"]]
    print(f"\n2. Torture: {len(t['messages'])} messages from {TORTURE_SOURCE}; bot "
          f"{'up' if t['bot_survived'] else 'DIED'}; next normal call: {t['legit_call']['outcome']}; "
          f"{len(odd)} answered otherwise than expected (*)")
    for m in t["messages"]:
        print(f"  {'*' if not m['as_expected'] else ' '} {m['name']:<28} {m['transport']:<4} expect "
              f"{m['expect']:<14} got {m['got']}")
    records = t.get("bot_records", {"recorded": 0, "lasting_over_5s": []})
    print(f"  calls the bot recorded from them: {records['recorded']}; lasting over 5 s although the sender hangs "
          f"up at once: {len(records['lasting_over_5s'])}")
    for c in records["lasting_over_5s"]:
        print(f"    call {c['id']}: display name {c['display_name_chars']} chars kept, {c['seconds']} s, "
              f"{c['turns']} bot turns, end_reason {c['end_reason']!r}")
    k = report["kill_restart"]
    print("\n3. kill -9 mid-call, restart on the same data directory")
    print(f"  interrupted call record: end_reason {k.get('end_reason')!r}, closed at its last turn "
          f"{k.get('closed_at_last_turn')}, turns {k['turns_before_kill']} before the kill, "
          f"{k.get('turns_kept')} kept ({k.get('roles_kept', '')}: b bot, c caller); calls closed as interrupted "
          f"in all: {k['calls_closed_as_interrupted']}")
    print(f"  restart: answering after {k['restart_ready_s']} s, a call answered after "
          f"{k['restart_answered_s']} s; closing logged: {k['restart_logged_closing']}")
    print("\n4. Soak")
    for line in soak_table(report["soak"]):
        print(line)
    print(f"\nCrashes (bot process exits): {len(report['crashes'])}; shutdown: {report['shutdown']}")
    for crash in report["crashes"]:
        print(f"  during {crash['stage']}: exit code {crash['exit_code']}")
    stages = [("flood", [e for r in report["flood"] for e in r["bot_log_errors"]]),
              ("torture", t["bot_log_errors"]), ("kill/restart", k["bot_log_errors"]),
              ("soak", report["soak_log_errors"])]
    for name, errors in stages:
        if errors:
            print(f"Bot log error lines during {name}: {len(errors)}, e.g.")
            for line in list(dict.fromkeys(errors))[:4]:
                print(f"    {line[:200]}")


def _questions(config: Config, workdir: Path) -> list[Path]:
    from employai.runtime.engines import load_synthesizer
    from speech.pcm import write_wav

    synthesizer = load_synthesizer(config)
    paths = []
    for i, text in enumerate(QUESTIONS):
        paths.append(workdir / f"question-{i}.wav")
        write_wav(paths[-1], synthesizer.synthesize(text))
    return paths


def run_reliability(args: argparse.Namespace, config: Config) -> int:
    """`employai bench --reliability`: args.workdir, args.soak_minutes, args.calls."""
    workdir = Path(args.workdir).resolve() / "reliability"
    shutil.rmtree(workdir, ignore_errors=True)  # a fresh bot and database: no figure depends on earlier runs
    workdir.mkdir(parents=True)
    bench = Bench(workdir, _questions(config, workdir))
    report: dict = {"started": time.strftime("%Y-%m-%d %H:%M"),
                    "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"}
    print(f"reliability benchmark in {workdir}: starting the bot", flush=True)
    bench.start()
    # A bar of the stages (each flood, torture, kill -9, soak) on a terminal; nothing but the lines otherwise.
    stages = steps(len(FLOODS) + 3, "reliability stages")
    try:
        report["flood"] = flood(bench, stages.update)
        report["torture"] = torture(bench)
        stages.update()
        report["kill_restart"] = kill_restart(bench)
        stages.update()
        callers = int(args.calls or 2)
        say(f"  soak: {callers} callers for {args.soak_minutes:g} min")
        bench.new_log()
        soak_began = time.time()
        report["soak"] = run_soak(bench, bench.questions, args.soak_minutes, callers)
        stages.update()
        report["soak_log_errors"] = log_errors(bench.new_log())
        report["torture"]["bot_records"] = torture_calls(bench)
        report["soak"]["bot_end_reasons"] = dict(Counter(
            c["end_reason"] or "open" for c in bench.bot.calls()
            if c["started_at"] >= soak_began and "sip:tester@" in c["remote_uri"]))
        if report["soak"]["crash"] is not None:
            bench.ensure("soak")
    finally:
        stages.close()
        report["shutdown"] = bench.stop()
        report["crashes"] = bench.crashes
        (workdir / "results.json").write_text(json.dumps(report, indent=1, default=str))
    _print_report(report)
    print(f"\n(saved as {workdir / 'results.json'})")
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m employai.harness.bench_reliability`: the same as `employai bench --reliability`."""
    from sip_config import load_config

    p = argparse.ArgumentParser(prog="employai.harness.bench_reliability")
    p.add_argument("--config", "-c")
    p.add_argument("--soak-minutes", type=float, default=2.0)
    p.add_argument("--calls", type=int, default=2)
    p.add_argument("--workdir", default="bench-out")
    args = p.parse_args(argv)
    return run_reliability(args, load_config(args.config))


if __name__ == "__main__":
    sys.exit(main())
