"""`employai memory show|forget CALLER`: what the bot remembers of a caller, and erasing it on request."""

from __future__ import annotations

import json
from pathlib import Path

from memory.documents import passages, read_document
from memory.embeddings import MiniLMEmbedder
from memory.transcripts import TranscriptStore
from sip_config import Config, ConfigError, resolve_models
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


def run_knowledge_add(files: list[str], config: Config) -> int:
    """Cut each file into passages and store them, with their embeddings, in the knowledge base."""
    try:
        embedder = MiniLMEmbedder(resolve_models(config).embedding_zip).load()
    except ConfigError as exc:
        print(f"employai: {exc}")
        return 2
    store = TranscriptStore(data_dir(config) / "employai.sqlite3", embedder=embedder)
    try:
        for name in files:
            path = Path(name)
            try:
                chunks = passages(read_document(path))
            except (OSError, ValueError) as exc:
                print(f"employai: {path}: {exc}")
                return 2
            added = store.archive.insert(chunks, scope="org", source=path.name)
            print(f"{path.name}: {added} passages added to the knowledge base")
        return 0
    finally:
        store.close()
