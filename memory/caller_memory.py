"""Per-caller memory (SQLite or PostgreSQL): the `human` core block and recall search over everything the caller said.

Isolation is structural: a `CallerMemory` is bound to one caller when the call starts, from the SIP identity;
no method takes a caller id, so nothing the caller or the model says can reach another caller's memory.
Anonymous callers get a `CallerMemory` that remembers nothing.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Mapping

from .archival import Archive
from .blocks import Block, BlockFullError
from .database import Database, as_database
from .extractor import Fact, extract_facts, holds_number, merge_facts
from .followups import SCHEMA as FOLLOWUPS_SCHEMA
from .followups import Followup, FollowupStore, confirmation, detect_callback
from .forms import FormStore, Task, form_sentence
from .records import forget_caller
from .stopwords import STOP_WORDS

HUMAN_LIMIT = 1000


SCHEMA = """
CREATE TABLE IF NOT EXISTS core_blocks (
    caller_user  TEXT NOT NULL,
    label        TEXT NOT NULL,
    value        TEXT NOT NULL,
    char_limit   INTEGER NOT NULL,
    updated_at   REAL NOT NULL,
    PRIMARY KEY (caller_user, label)
);
CREATE INDEX IF NOT EXISTS calls_by_caller ON calls(caller_user);
-- Recall search index: each turn's text with its caller, so a search reads only that caller's postings.
CREATE VIRTUAL TABLE IF NOT EXISTS recall_fts USING fts5(text, caller);
CREATE TRIGGER IF NOT EXISTS recall_fts_insert AFTER INSERT ON turns BEGIN
    INSERT INTO recall_fts(rowid, text, caller)
    VALUES (new.id, new.text, (SELECT caller_user FROM calls WHERE id = new.call_id));
END;
CREATE TRIGGER IF NOT EXISTS recall_fts_delete AFTER DELETE ON turns BEGIN
    DELETE FROM recall_fts WHERE rowid = old.id;
END;
"""

_FORM_FACTS = ("name", "callback number", "address")  # form fields that are also facts about the caller
FORMS_REMEMBERED = 3  # the latest forms said among the caller's facts
_FACT_SENTENCES = {
    "name": "Your name is {}.",
    "callback number": "Your callback number is {}.",
    "email": "Your email is {}.",
}


def install_schema(db: sqlite3.Connection) -> None:
    new = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'recall_fts'").fetchone() is None
    db.executescript(SCHEMA)
    db.executescript(FOLLOWUPS_SCHEMA)
    if new:  # index the turns written before memory existed
        db.execute("INSERT INTO recall_fts(rowid, text, caller) SELECT t.id, t.text, c.caller_user"
                   " FROM turns t JOIN calls c ON c.id = t.call_id")


class CallerMemory:
    def __init__(self, db: Database | sqlite3.Connection | None, caller_user: str, archive: Archive | None = None,
                 lock: threading.RLock | None = None):
        db = as_database(db, lock) if db is not None else None
        self._db = db if caller_user else None
        self._caller = caller_user
        self._archive = archive  # the knowledge base is there for anonymous callers too
        self._lock = db.lock if db is not None else threading.RLock()  # the store's write lock, shared by all
        # Messages for staff are kept for anonymous callers too: for the business, not remembered about them.
        self._followups = FollowupStore(db, self._lock) if db is not None else None
        self._forms = FormStore(db, self._lock) if db is not None else None  # intake forms: the same rule

    @property
    def remembers(self) -> bool:
        return self._db is not None

    def human(self) -> Block:
        if self._db is None:
            return Block("human", "", HUMAN_LIMIT)
        row = self._db.execute("SELECT value, char_limit FROM core_blocks WHERE caller_user = ? AND label = 'human'",
                               (self._caller,)).fetchone()
        return Block("human", row[0], row[1]) if row else Block("human", "", HUMAN_LIMIT)

    def set_human(self, value: str) -> None:
        if self._db is None:
            return
        with self._lock:
            block = self.human().with_value(value)
            self._db.execute(
                "INSERT INTO core_blocks (caller_user, label, value, char_limit, updated_at)"
                " VALUES (?, 'human', ?, ?, ?) ON CONFLICT (caller_user, label)"
                " DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (self._caller, block.value, block.limit, time.time()))

    def set_fact(self, key: str, value: str) -> None:
        """Set one remembered fact, the `key: value` line of the `human` block, in place of that key's lines; an
        empty value forgets it (an operator's correction). Raises ValueError for a key that is not a short label,
        BlockFullError when the block would overflow."""
        key, value = " ".join(key.split()).lower(), " ".join(value.split())
        if not key or ":" in key or len(key) > 40:
            raise ValueError("a fact's name is a few words without a colon")
        if self._db is None:
            return
        with self._lock:
            lines = [line for line in self.human().value.splitlines()
                     if line.strip() and not line.startswith(f"{key}: ")]
            self.set_human("\n".join([*lines, f"{key}: {value}"] if value else lines))

    @property
    def caller_user(self) -> str:
        return self._caller

    def learn_from(self, caller_text: str, numbers: bool = True) -> list[Fact]:
        """Extract the facts in what the caller just said and commit them to the `human` block at once.
        `numbers=False`: facts holding a number wait (the turn policy reads them back and commits them once the
        caller confirms them)."""
        facts = [f for f in extract_facts(caller_text) if numbers or not holds_number(f)]
        if facts and self._db is not None:
            with self._lock:  # read, merge and write as one step: another thread's facts are not lost
                self.set_human(merge_facts(self.human().value, facts))
        return facts

    def add_facts(self, facts: list[Fact]) -> list[Fact]:
        """Facts from the after-call memory keeper; those that no longer fit in the block are left out."""
        kept = []
        for fact in facts:
            try:
                with self._lock:
                    self.set_human(merge_facts(self.human().value, [fact]))
                kept.append(fact)
            except BlockFullError:
                break
        return kept

    def add_task(self, task: str, call_id: int | None) -> None:
        """Something the business promised the caller, kept as a follow-up task for the staff."""
        if self._db is not None and self._followups is not None:
            self._followups.add(self._caller, call_id, Followup(task, None), kind="task")

    def known(self, key: str) -> str:
        prefix = f"{key}: "
        values = [line[len(prefix):] for line in self.human().value.splitlines() if line.startswith(prefix)]
        return values[-1] if values else ""

    def fact_sentences(self) -> list[str]:
        """What we know of the caller, as sentences a reply can start with."""
        out = []
        for line in self.human().value.splitlines():
            key, _, value = line.partition(": ")
            if key == "mentioned time" or not value:
                continue
            out.append(_FACT_SENTENCES.get(key, "Your " + key + " is {}.").format(value))
        return out + [form_sentence(task) for task in self.forms(limit=FORMS_REMEMBERED)]

    def conversation_search(self, query: str, limit: int = 3, exclude_call: int | None = None,
                            caller_only: bool = False) -> list[str]:
        """The caller's own past turns that best match the content words of `query` (the engine's full-text
        search: FTS5 on SQLite, tsvector on PostgreSQL)."""
        if self._db is None:
            return []
        words = [w for w in re.findall(r"\w+", query.lower()) if len(w) > 2 and w not in STOP_WORDS]
        if not words:
            return []
        rows = self._db.recall_search(self._caller, words, exclude_call, caller_only, limit)
        return [f"{role}: {text}" for role, text in rows]

    def conversation_by_date(self, start: float, end: float, limit: int = 20) -> list[str]:
        """The caller's conversation between two moments (epoch seconds), oldest first: recall search by date."""
        if self._db is None:
            return []
        rows = self._db.execute(
            "SELECT t.role, t.text, t.created_at FROM turns t JOIN calls c ON c.id = t.call_id"
            " WHERE c.caller_user = ? AND t.created_at >= ? AND t.created_at < ? ORDER BY t.id LIMIT ?",
            (self._caller, start, end, limit)).fetchall()
        return [f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(at))} {role}: {text}" for role, text, at in rows]

    @property
    def has_knowledge(self) -> bool:
        return self._archive is not None

    def book_callback(self, caller_text: str, call_id: int | None) -> str | None:
        """If the caller asks to be called back, store the follow-up task now and return the confirmation."""
        if self._db is None:
            return None
        followup = detect_callback(caller_text)
        if followup is None or self._followups is None:
            return None
        self._followups.add(self._caller, call_id, followup)
        return confirmation(followup)

    def take_message(self, for_whom: str, message: str, call_id: int | None) -> None:
        """A message for a colleague who could not take the call, kept as a follow-up task (anonymous too)."""
        if self._followups is not None:
            self._followups.add(self._caller, call_id, Followup(f"Message for {for_whom}: {message}", None),
                                kind="message")

    def save_form(self, form_name: str, values: Mapping[str, str], call_id: int | None) -> int:
        """A completed intake form, kept as a task for the staff (anonymous callers' too); its id (0: no database).
        For a caller we remember, its name, callback number and address become facts, so the next form skips them."""
        if self._forms is None:
            return 0
        form_id = self._forms.save(self._caller, call_id, form_name, values)
        if self._db is not None:
            self.add_facts([Fact(key, values[key].strip()) for key in _FORM_FACTS if values.get(key, "").strip()])
        return form_id

    def forms(self, limit: int = 20) -> list[Task]:
        """The forms this caller filled, newest first (none for an anonymous caller)."""
        return self._forms.of_caller(self._caller, limit) if self._forms is not None and self._db is not None else []

    def knowledge_lead(self, question: str) -> str | None:
        """A sentence of the knowledge base (or of this caller's notes) that answers the question."""
        if self._archive is None:
            return None
        return self._archive.best_sentence(question, self._caller)

    def knowledge_sentences(self, question: str) -> list[tuple[str, float]]:
        """The sentences of the knowledge base (and of this caller's notes) found for the question, each with its
        closeness in meaning to it: for the caller of this to choose the one that answers."""
        if self._archive is None:
            return []
        return self._archive.candidate_sentences(question, self._caller)

    def archival_search(self, query: str, limit: int = 3) -> list[str]:
        if self._archive is None:
            return []
        return [p.text for p in self._archive.search(query, self._caller, limit)]

    def archival_insert(self, text: str) -> None:
        """A note about this caller, kept for later calls (nothing is kept for anonymous callers)."""
        if self._archive is not None and self._db is not None:
            self._archive.insert([text], scope="caller", caller_user=self._caller, source="note")

    def forget(self) -> dict[str, int]:
        """Erase everything about this caller, in one transaction: core blocks, archival notes, transcripts and
        their recall index, follow-ups, scheduled calls to them and their attempts, their PIN. Call records stay,
        anonymised. Returns the rows erased per kind (see `memory/records.py`)."""
        if self._db is None:
            return {}
        erased = forget_caller(self._db, self._caller)
        if self._archive is not None:
            self._archive.forget_cached()
        return erased
