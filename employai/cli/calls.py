"""`employai call`, `employai calls scheduled|cancel` and `employai status`: operator commands that work on the
database and status file of the bot, whether or not it is running (a running bot picks new calls up)."""

from __future__ import annotations

import argparse
import re
import time
from datetime import datetime, timedelta

from employai.runtime.app import data_dir, sip_domain
from employai.runtime.status import read_status
from employai.runtime.storage import database_label, open_store
from memory.transcripts import TranscriptStore
from sip_config import Config

EXIT_USAGE = 2


class UsageError(ValueError):
    pass


def parse_at(text: str, now: datetime | None = None) -> float:
    """'now', '+90s', '+5m', '+2h', '14:30' (the next such time), or '2026-11-26 14:30' (ISO) -> epoch seconds."""
    now = now or datetime.now()
    text = text.strip()
    if text == "now":
        return now.timestamp()
    if match := re.fullmatch(r"\+(\d+)([smh])", text):
        return (now + timedelta(seconds=int(match[1]) * {"s": 1, "m": 60, "h": 3600}[match[2]])).timestamp()
    if match := re.fullmatch(r"(\d{1,2}):(\d{2})", text):
        when = now.replace(hour=int(match[1]), minute=int(match[2]), second=0, microsecond=0)
        return (when if when > now else when + timedelta(days=1)).timestamp()
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise UsageError(f"--at {text!r}: use now, +5m, 14:30 or 2026-11-26T14:30") from None


def callee_uri(target: str, config: Config) -> str:
    """A SIP URI, or a number/extension dialled at the bot's SIP domain."""
    if target.startswith(("sip:", "sips:")):
        return target
    if re.fullmatch(r"\+?[\d\s\-().]+", target):
        number = re.sub(r"[^\d+]", "", target)
        return f"sip:{number}@{sip_domain(config)}"
    raise UsageError(f"{target!r}: give a SIP URI (sip:user@host) or a phone number")


def schedule_call(store: TranscriptStore, config: Config, target: str, at: str, task: str,
                  attempts: int = 0) -> tuple[int, str, float]:
    """`employai call` and the console: schedule a call; (its id, the URI called, when). Raises UsageError."""
    uri = callee_uri(target, config)
    due = parse_at(at)
    if not task.strip():
        raise UsageError("--task must say what the call is for")
    return store.schedule.add(uri, task.strip(), due, attempts or config.outbound.max_attempts), uri, due


def cancel_scheduled(store: TranscriptStore, scheduled_id: int) -> bool:
    """`employai calls cancel` and the console: False when no such call is pending."""
    return store.schedule.cancel(scheduled_id)


def run_call(args: argparse.Namespace, config: Config) -> int:
    store = open_store(config)
    try:
        scheduled_id, uri, due = schedule_call(store, config, args.uri, args.at, args.task, args.attempts)
    except UsageError as exc:
        print(f"employai: {exc}")
        return EXIT_USAGE
    finally:
        store.close()
    print(f"Scheduled call {scheduled_id} to {uri} at {datetime.fromtimestamp(due):%Y-%m-%d %H:%M:%S}.")
    return 0


def run_calls(args: argparse.Namespace, config: Config) -> int:
    store = open_store(config)
    try:
        if args.calls_command == "cancel":
            if cancel_scheduled(store, args.id):
                print(f"Cancelled call {args.id}.")
                return 0
            print(f"employai: no pending scheduled call {args.id}")
            return 1
        calls = store.schedule.listing(include_finished=args.all)
        if not calls:
            print("No scheduled calls.")
        for c in calls:
            when = datetime.fromtimestamp(c.next_attempt_at if c.status == "pending" else c.due_at)
            done = "" if c.task_done is None else (" task done" if c.task_done else " task not done")
            print(f"{c.id:>4}  {c.status:<9} {when:%Y-%m-%d %H:%M}  attempts {c.attempts}/{c.max_attempts}"
                  f"  {c.last_outcome or '-':<9}{done}  {c.uri}  {c.task}")
            if args.verbose_attempts:
                for a in store.schedule.attempts(c.id):
                    print(f"        attempt {a['attempt']}: {a['outcome']} (SIP {a['sip_status']})")
        return 0
    finally:
        store.close()


def run_status(config: Config) -> int:
    status = read_status(data_dir(config) / "status.json")
    if status is None:
        print("Employai has not run with this configuration (no status file).")
        print(f"  database:     {database_label(config)}")
        return 1
    state = "running" if status["running"] else "not running"
    print(f"Employai: {state} (pid {status['pid']})")
    print(f"  answers at:   {status['uri']}")
    reg = status["registration"]
    if reg["state"] == "off":
        print("  registration: off (no registrar configured)")
    else:
        since = time.strftime("%H:%M:%S", time.localtime(reg["changed_at"])) if reg["changed_at"] else "-"
        line = f"  registration: {reg['state']} as {reg['aor']} with {reg['registrar']} since {since}"
        if reg["state"] == "registered":
            line += f", expires in {reg['expires_s']} s"
        print(line)
        if reg["problem"]:
            print(f"  problem:      {reg['problem']}; {reg.get('failures', 0)} failed attempt(s) in a row, "
                  f"the next {reg['retry_in_s']:.0f} s after the last")
    capacity = f" of {status['capacity']} served at once ({status['capacity_from']})" if "capacity" in status else ""
    print(f"  calls now:    {status['calls'] if status['running'] else 0}{capacity}")
    for call in status.get("live", []) if status["running"] else []:
        minutes, seconds = divmod(int(time.time() - call["since"]), 60)
        what = "told the lines are busy" if call.get("busy") else f"{minutes}:{seconds:02d}"
        print(f"    {call['direction']:<8} {call['caller']:<24} {what}")
    if status.get("cpu_lanes"):
        print(f"  model work:   {status['cpu_lanes']} CPU lane(s), most urgent first")
    print(f"  database:     {status.get('database', database_label(config))}")
    store = open_store(config)
    try:
        pending = store.schedule.listing()
    finally:
        store.close()
    if pending:
        soonest = datetime.fromtimestamp(min(c.next_attempt_at for c in pending))
        print(f"  scheduled:    {len(pending)} call(s), the next at {soonest:%Y-%m-%d %H:%M}")
    return 0 if status["running"] else 1
