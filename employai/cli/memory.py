"""`employai memory show|set|forget|pin CALLER`: what the bot remembers of a caller, correcting one fact, erasing it
all on request, and the PIN a caller proves who they are with on a call whose caller ID is only a claim."""

from __future__ import annotations

import getpass
import json
import logging
import sys
from pathlib import Path

from employai.runtime.recording import forget_recordings, recordings_dir
from employai.runtime.storage import open_store
from memory.transcripts import TranscriptStore
from sip_config import Config
from telephony.headers import normalise_user

log = logging.getLogger(__name__)


def run_memory(args, config: Config) -> int:
    user = normalise_user(args.caller)
    if not user:
        print("employai: that caller is anonymous: nothing is remembered of anonymous callers")
        return 2
    store = open_store(config)
    try:
        if args.memory_command == "pin":
            return _set_pin(store, user, args)
        if args.memory_command == "set":
            try:
                set_fact(store, user, args.key, args.value, via="cli")
            except ValueError as exc:
                print(f"employai: {exc}; nothing changed")
                return 2
            print(f"{args.key.strip()} of {user} " + ("set." if args.value.strip() else "forgotten."))
            return 0
        memory = store.caller_memory(user)
        calls = [c for c in store.calls() if c["caller_user"] == user]
        if args.memory_command == "forget":
            erased = forget_caller(store, user, recordings_dir(config))
            print(f"Erased everything about {user}: {erased.get('calls_anonymised', 0)} call records anonymised,"
                  f" {erased.get('turns', 0)} turns, {erased.get('followups', 0)} follow-ups,"
                  f" {erased.get('scheduled_calls', 0)} scheduled calls, {erased.get('passages', 0)} notes"
                  f"{', the PIN' if erased.get('pins') else ''}"
                  f"{', {} recordings'.format(erased['recordings']) if erased.get('recordings') else ''} removed.")
            return 0
        turns = [t for c in calls for t in store.turns(c["id"])]
        forms = memory.forms()
        if args.json:
            print(json.dumps({"caller": user, "human": memory.human().value, "calls": len(calls),
                              "turns": [{"call": t.call_id, "role": t.role, "text": t.text,
                                         "at": t.created_at} for t in turns],
                              "forms": [f.as_json() for f in forms]}, indent=1))
        else:
            print(f"caller: {user}\ncalls: {len(calls)}\n{memory.human().render()}")
            for t in turns[-10:]:
                print(f"  [{t.call_id}] {t.role}: {t.text}")
            for f in forms:
                print(f"  form {f.id} [{f.call_id}] {f.title} ({f.status}, {f.as_json()['created_at']}): "
                      + "; ".join(f"{key}: {value}" for key, value in f.values.items()))
        return 0
    finally:
        store.close()


def set_fact(store: TranscriptStore, user: str, key: str, value: str, via: str) -> None:
    """Correct one fact remembered of a caller (`employai memory set`, the console); an empty value forgets it.
    Logged as an operator action, without the caller, the fact or its value. `user` as typed (a number with spaces
    or dashes, a SIP URI) is keyed as calls key callers (`normalise_user`); an anonymous one is a ValueError."""
    user = normalise_user(user)
    if not user:
        raise ValueError("nothing is remembered of anonymous callers")
    store.caller_memory(user).set_fact(key, value)
    log.info("operator action", extra={"action": "set_fact", "via": via, "removed": not value.strip()})


def forget_caller(store: TranscriptStore, user: str, recordings: Path | None = None) -> dict[str, int]:
    """Erase everything remembered of a caller (`employai memory forget`, the console), their call recordings in
    the folder `recordings` too: what was removed, counted. `user` as typed is keyed as calls key callers
    (`normalise_user`); nothing is remembered of an anonymous one, so nothing is erased."""
    user = normalise_user(user)
    if not user:
        return {}
    erased = store.caller_memory(user).forget()
    if recordings is not None:
        erased["recordings"] = forget_recordings(recordings, user)
    return erased


def _set_pin(store: TranscriptStore, user: str, args) -> int:
    """Set the caller's PIN from stdin (no echo on a terminal), or clear it with --clear."""
    if getattr(args, "clear", False):
        print(f"PIN of {user} removed." if store.pins.clear(user) else f"{user} has no PIN.")
        return 0
    if getattr(args, "pin_stdin", False):
        pin = sys.stdin.readline().strip()
    elif sys.stdin.isatty():
        pin = getpass.getpass(f"New PIN for {user} (4 to 8 digits): ").strip()
        if getpass.getpass("Again: ").strip() != pin:
            print("employai: the two PINs differ; nothing changed")
            return 2
    else:
        print("employai: stdin is not a terminal: pass --pin-stdin to read the PIN from it")
        return 2
    try:
        store.pins.set(user, pin)
    except ValueError as exc:
        print(f"employai: {exc}; nothing changed")
        return 2
    print(f"PIN of {user} set.")
    return 0

