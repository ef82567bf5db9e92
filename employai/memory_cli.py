"""`employai memory show|forget CALLER`: what the bot remembers of a caller, and erasing it on request."""

from __future__ import annotations

import json

from memory.transcripts import TranscriptStore
from sip_config import Config
from telephony.headers import normalise_user

from .app import data_dir


def run_memory(args, config: Config) -> int:
    user = normalise_user(args.caller)
    if not user:
        print("employai: that caller is anonymous: nothing is remembered of anonymous callers")
        return 2
    store = TranscriptStore(data_dir(config) / "employai.sqlite3")
    try:
        memory = store.caller_memory(user)
        calls = [c for c in store.calls() if c["caller_user"] == user]
        if args.memory_command == "forget":
            memory.forget()
            print(f"Erased the memory of {user} ({len(calls)} calls).")
            return 0
        turns = [t for c in calls for t in store.turns(c["id"])]
        if args.json:
            print(json.dumps({"caller": user, "human": memory.human().value, "calls": len(calls),
                              "turns": [{"call": t.call_id, "role": t.role, "text": t.text,
                                         "at": t.created_at} for t in turns]}, indent=1))
        else:
            print(f"caller: {user}\ncalls: {len(calls)}\n{memory.human().render()}")
            for t in turns[-10:]:
                print(f"  [{t.call_id}] {t.role}: {t.text}")
        return 0
    finally:
        store.close()
