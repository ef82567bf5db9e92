"""Archival memory: passages with embeddings, searched by meaning and by keyword (MemGPT's external store).

Two scopes: the organisation's knowledge base (read-only to callers) and each caller's own notes. A search is
bound to one caller and sees only the knowledge base and that caller's notes. Vectors live in the database next to
their text (a BLOB on SQLite, a bytea on PostgreSQL); a search scores them here with one matrix product and fuses
that ranking with the engine's full-text ranking (FTS5's or PostgreSQL's) by reciprocal rank.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .database import Database, as_database
from .embeddings import DIMENSIONS, Embedder
from .sqlite_db import sqlite_schema
from .stopwords import STOP_WORDS

SCHEMA = """
CREATE TABLE IF NOT EXISTS passages (
    id           INTEGER PRIMARY KEY,
    scope        TEXT NOT NULL CHECK (scope IN ('org', 'caller')),
    caller_user  TEXT NOT NULL DEFAULT '',
    source       TEXT NOT NULL DEFAULT '',
    text         TEXT NOT NULL,
    embedding    BLOB NOT NULL,
    created_at   REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_by_owner ON passages(scope, caller_user);
CREATE VIRTUAL TABLE IF NOT EXISTS passages_fts USING fts5(text, content='passages', content_rowid='id');
CREATE TRIGGER IF NOT EXISTS passages_fts_insert AFTER INSERT ON passages BEGIN
    INSERT INTO passages_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER IF NOT EXISTS passages_fts_delete AFTER DELETE ON passages BEGIN
    INSERT INTO passages_fts(passages_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
"""
_RRF_K = 60
EMBED_BATCH = 16  # passages embedded at a time: progress is reported between batches

Progress = Callable[[int, int], None]  # (passages embedded so far, passages in all)
PROFILE_SOURCE = "profile"  # the employee profile's facts, kept in the knowledge base too (restored at each start)


@dataclass(frozen=True)
class Passage:
    id: int
    text: str
    source: str
    score: float


@dataclass(frozen=True)
class Document:
    """A document of the knowledge base: the org passages kept under one source name."""

    source: str
    passages: int
    added_at: float


def documents(db: Database) -> list[Document]:
    """The knowledge base's documents, newest first (the employee profile's facts are the source 'profile')."""
    rows = db.execute("SELECT source, COUNT(*), MAX(created_at) FROM passages WHERE scope = 'org'"
                      " GROUP BY source ORDER BY MAX(created_at) DESC, source").fetchall()
    return [Document(r[0], int(r[1]), float(r[2])) for r in rows]


def knowledge_texts(db: Database, limit: int) -> list[str]:
    """The knowledge base's passages, the profile's facts left out: the `limit` added last."""
    rows = db.execute("SELECT text FROM passages WHERE scope = 'org' AND source <> ? ORDER BY id DESC LIMIT ?",
                      (PROFILE_SOURCE, limit)).fetchall()
    return [str(r[0]) for r in rows]


def remove_source(db: Database, source: str) -> int:
    """Delete the knowledge base's passages of one document; how many. (An `Archive` in this process drops its
    cached vectors with `forget_cached`; another bot's drops them when it sees passages gone.)"""
    with db.transaction():
        return db.execute("DELETE FROM passages WHERE scope = 'org' AND source = ?", (source,)).rowcount


def install_schema(db: sqlite3.Connection) -> None:
    """The passages and their FTS5 index on SQLite (PostgreSQL installs its whole schema when it connects)."""
    db.executescript(SCHEMA)


@dataclass(frozen=True)
class _Matrix:
    """The vectors of the passages loaded so far, with their ids and owners: replaced whole, never changed."""

    ids: np.ndarray
    is_org: np.ndarray
    owners: np.ndarray
    vectors: np.ndarray
    loaded_max: int = 0


_EMPTY = _Matrix(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool), np.zeros(0, dtype=object),
                 np.zeros((0, DIMENSIONS), dtype=np.float32))


class Archive:
    """All passages, with an in-memory matrix of their vectors kept in step with the table.

    Searches run in worker threads, several calls at once: the matrix is swapped whole under `_cache_lock`, so a
    search always scores one consistent snapshot; writes to the table hold the store's write lock."""

    def __init__(self, db: Database | sqlite3.Connection, embedder: Embedder, lock: threading.RLock | None = None):
        self._db = as_database(db, lock)
        self._lock = self._db.lock
        sqlite_schema(self._db, SCHEMA)
        self._embedder = embedder
        self._cache_lock = threading.Lock()
        self._matrix = _EMPTY
        self._sentence_vectors: dict[str, np.ndarray] = {}

    def insert(self, texts: list[str], scope: str, caller_user: str = "", source: str = "") -> int:
        rows = self._rows(texts, scope, caller_user, source)
        with self._db.transaction():
            self._insert_rows(rows)
        return len(rows)

    def _rows(self, texts: list[str], scope: str, caller_user: str, source: str,
              progress: Progress | None = None) -> list[tuple]:
        """Passage rows with their embeddings (computed here, outside any lock, a batch at a time)."""
        texts = [t.strip() for t in texts if t.strip()]
        if not texts:
            return []
        batches = []
        for start in range(0, len(texts), EMBED_BATCH):
            batches.append(self._embedder.embed(texts[start : start + EMBED_BATCH]))
            if progress is not None:
                progress(min(start + EMBED_BATCH, len(texts)), len(texts))
        vectors = np.concatenate(batches)
        now = time.time()
        return [(scope, caller_user, source, t, v.tobytes(), now) for t, v in zip(texts, vectors, strict=True)]

    def _insert_rows(self, rows: list[tuple]) -> None:
        self._db.executemany("INSERT INTO passages (scope, caller_user, source, text, embedding, created_at)"
                             " VALUES (?, ?, ?, ?, ?, ?)", rows)

    def _refresh(self) -> _Matrix:
        with self._cache_lock:
            if self._db.dialect != "sqlite" and self._changed_elsewhere():
                self._matrix = _EMPTY
            old = self._matrix
            rows = self._db.execute("SELECT id, scope, caller_user, embedding FROM passages WHERE id > ?"
                                    " ORDER BY id", (old.loaded_max,)).fetchall()
            if rows:
                new = np.frombuffer(b"".join(r[3] for r in rows), dtype=np.float32).reshape(len(rows), DIMENSIONS)
                self._matrix = _Matrix(
                    np.concatenate([old.ids, np.array([r[0] for r in rows], dtype=np.int64)]),
                    np.concatenate([old.is_org, np.array([r[1] == "org" for r in rows], dtype=bool)]),
                    np.concatenate([old.owners, np.array([r[2] for r in rows], dtype=object)]),
                    np.concatenate([old.vectors, new]), rows[-1][0])
            return self._matrix

    def _changed_elsewhere(self) -> bool:
        """Whether another bot on the shared server deleted passages, or committed one below the highest loaded
        (ids are handed out before commit): then the passages are not what was loaded, and all are reloaded."""
        row = self._db.execute("SELECT COUNT(*) FROM passages WHERE id <= ?", (self._matrix.loaded_max,)).fetchone()
        return int(row[0]) != len(self._matrix.ids)

    def replace_source(self, texts: list[str], source: str, progress: Progress | None = None) -> None:
        """Make the org passages from `source` exactly `texts`, in one transaction (the employee profile's facts at
        start; a document added again under its name). `progress(done, total)` is told as passages are embedded."""
        current = [r[0] for r in self._db.execute(
            "SELECT text FROM passages WHERE scope = 'org' AND source = ? ORDER BY id", (source,))]
        if current == [t.strip() for t in texts if t.strip()]:
            if progress is not None:
                progress(len(current), len(current))
            return
        rows = self._rows(texts, "org", "", source, progress)
        with self._db.transaction():
            self._db.execute("DELETE FROM passages WHERE scope = 'org' AND source = ?", (source,))
            self._insert_rows(rows)
        self.forget_cached()

    def forget_cached(self) -> None:
        """Drop the in-memory vectors after passages were deleted; they are reloaded from the table."""
        with self._cache_lock:
            self._matrix = _EMPTY

    def forget_caller(self, caller_user: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM passages WHERE scope = 'caller' AND caller_user = ?", (caller_user,))
        self.forget_cached()

    def search(self, query: str, caller_user: str, limit: int = 3) -> list[Passage]:
        """The knowledge base and `caller_user`'s own notes, best first; nobody else's notes, ever."""
        m = self._refresh()
        if not len(m.ids) or not query.strip():
            return []
        visible = m.is_org | (m.owners == caller_user) if caller_user else m.is_org
        similarity = m.vectors @ self._embed_cached([query])[0]
        similarity[~visible] = -2.0
        top = np.argsort(-similarity)[: limit * 4]
        ranks: dict[int, float] = {}
        cosine: dict[int, float] = {}
        for rank, i in enumerate(top):
            if similarity[i] > -2.0:
                pid = int(m.ids[i])
                ranks[pid] = 1.0 / (_RRF_K + rank)
                cosine[pid] = float(similarity[i])
        for rank, pid in enumerate(self._keyword_hits(query, caller_user, limit * 4)):
            ranks[pid] = ranks.get(pid, 0.0) + 1.0 / (_RRF_K + rank)
        best = sorted(ranks, key=lambda pid: ranks[pid], reverse=True)[:limit]
        if not best:
            return []
        rows = {r[0]: r for r in self._db.execute(
            f"SELECT id, text, source FROM passages WHERE id IN ({','.join('?' * len(best))})", best)}
        return [Passage(pid, rows[pid][1], rows[pid][2], cosine.get(pid, 0.0)) for pid in best if pid in rows]

    def best_sentence(self, query: str, caller_user: str, min_similarity: float = 0.5) -> str | None:
        """The single sentence of the best passages that answers `query` most closely, if close enough."""
        candidates = self.candidate_sentences(query, caller_user)
        if not candidates:
            return None
        best = max(candidates, key=lambda c: c[1])
        return best[0] if best[1] >= min_similarity else None

    def candidate_sentences(self, query: str, caller_user: str, limit: int = 3) -> list[tuple[str, float]]:
        """The sentences of the `limit` best passages, each with its closeness in meaning to `query` (cosine)."""
        from .documents import sentences

        candidates = list(dict.fromkeys(s for p in self.search(query, caller_user, limit) for s in sentences(p.text)))
        if not candidates:
            return []
        similarity = self._embed_cached(candidates) @ self._embed_cached([query])[0]
        return [(text, float(sim)) for text, sim in zip(candidates, similarity, strict=True)]

    def _embed_cached(self, texts: list[str]) -> np.ndarray:
        """Sentence vectors, remembered: the same knowledge-base sentences come up turn after turn."""
        with self._cache_lock:
            known = {t: self._sentence_vectors[t] for t in texts if t in self._sentence_vectors}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            known.update(zip(missing, self._embedder.embed(missing), strict=True))
            with self._cache_lock:
                self._sentence_vectors.update((t, known[t]) for t in missing)
                while len(self._sentence_vectors) > 4096:
                    self._sentence_vectors.pop(next(iter(self._sentence_vectors)))
        return np.stack([known[t] for t in texts])

    def _keyword_hits(self, query: str, caller_user: str, limit: int) -> list[int]:
        words = [w for w in re.findall(r"\w+", query.lower()) if len(w) > 2 and w not in STOP_WORDS]
        if not words:
            return []
        return self._db.passage_hits(words, caller_user, limit)
