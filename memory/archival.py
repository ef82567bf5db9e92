"""Archival memory: passages with embeddings, searched by meaning and by keyword (MemGPT's external store).

Two scopes: the organisation's knowledge base (read-only to callers) and each caller's own notes. A search is
bound to one caller and sees only the knowledge base and that caller's notes. Vectors live in SQLite next to
their text; a search scores them with one matrix product and fuses that ranking with FTS5's (reciprocal rank).
"""

from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import dataclass

import numpy as np

from .embeddings import DIMENSIONS, Embedder
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


@dataclass(frozen=True)
class Passage:
    id: int
    text: str
    source: str
    score: float


def install_schema(db: sqlite3.Connection) -> None:
    db.executescript(SCHEMA)


class Archive:
    """All passages, with an in-memory matrix of their vectors kept in step with the table."""

    def __init__(self, db: sqlite3.Connection, embedder: Embedder):
        install_schema(db)
        self._db = db
        self._embedder = embedder
        self._ids = np.zeros(0, dtype=np.int64)
        self._is_org = np.zeros(0, dtype=bool)
        self._owners = np.zeros(0, dtype=object)
        self._vectors = np.zeros((0, DIMENSIONS), dtype=np.float32)
        self._loaded_max = 0
        self._sentence_vectors: dict[str, np.ndarray] = {}

    def insert(self, texts: list[str], scope: str, caller_user: str = "", source: str = "") -> int:
        texts = [t.strip() for t in texts if t.strip()]
        if not texts:
            return 0
        vectors = self._embedder.embed(texts)
        now = time.time()
        self._db.execute("BEGIN")
        self._db.executemany(
            "INSERT INTO passages (scope, caller_user, source, text, embedding, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            [(scope, caller_user, source, t, v.tobytes(), now) for t, v in zip(texts, vectors, strict=True)])
        self._db.execute("COMMIT")
        return len(texts)

    def _refresh(self) -> None:
        rows = self._db.execute("SELECT id, scope, caller_user, embedding FROM passages WHERE id > ? ORDER BY id",
                                (self._loaded_max,)).fetchall()
        if not rows:
            return
        self._ids = np.concatenate([self._ids, np.array([r[0] for r in rows], dtype=np.int64)])
        self._is_org = np.concatenate([self._is_org, np.array([r[1] == "org" for r in rows], dtype=bool)])
        self._owners = np.concatenate([self._owners, np.array([r[2] for r in rows], dtype=object)])
        new = np.frombuffer(b"".join(r[3] for r in rows), dtype=np.float32).reshape(len(rows), DIMENSIONS)
        self._vectors = np.concatenate([self._vectors, new])
        self._loaded_max = rows[-1][0]

    def replace_source(self, texts: list[str], source: str) -> None:
        """Make the org passages from `source` exactly `texts` (the employee profile's facts, at start)."""
        current = [r[0] for r in self._db.execute(
            "SELECT text FROM passages WHERE scope = 'org' AND source = ? ORDER BY id", (source,))]
        if current == [t.strip() for t in texts if t.strip()]:
            return
        self._db.execute("DELETE FROM passages WHERE scope = 'org' AND source = ?", (source,))
        self._reset()
        self.insert(texts, scope="org", source=source)

    def _reset(self) -> None:
        self._ids = np.zeros(0, dtype=np.int64)
        self._is_org, self._owners = np.zeros(0, dtype=bool), np.zeros(0, dtype=object)
        self._vectors, self._loaded_max = np.zeros((0, DIMENSIONS), dtype=np.float32), 0

    def forget_caller(self, caller_user: str) -> None:
        self._db.execute("DELETE FROM passages WHERE scope = 'caller' AND caller_user = ?", (caller_user,))
        self._reset()

    def search(self, query: str, caller_user: str, limit: int = 3) -> list[Passage]:
        """The knowledge base and `caller_user`'s own notes, best first; nobody else's notes, ever."""
        self._refresh()
        if not len(self._ids) or not query.strip():
            return []
        visible = self._is_org | (self._owners == caller_user) if caller_user else self._is_org
        similarity = self._vectors @ self._embed_cached([query])[0]
        similarity[~visible] = -2.0
        top = np.argsort(-similarity)[: limit * 4]
        ranks: dict[int, float] = {}
        cosine: dict[int, float] = {}
        for rank, i in enumerate(top):
            if similarity[i] > -2.0:
                pid = int(self._ids[i])
                ranks[pid] = 1.0 / (_RRF_K + rank)
                cosine[pid] = float(similarity[i])
        for rank, pid in enumerate(self._keyword_hits(query, caller_user, limit * 4)):
            ranks[pid] = ranks.get(pid, 0.0) + 1.0 / (_RRF_K + rank)
        best = sorted(ranks, key=ranks.get, reverse=True)[:limit]
        rows = {r[0]: r for r in self._db.execute(
            f"SELECT id, text, source FROM passages WHERE id IN ({','.join('?' * len(best))})", best)}
        return [Passage(pid, rows[pid][1], rows[pid][2], cosine.get(pid, 0.0)) for pid in best if pid in rows]

    def best_sentence(self, query: str, caller_user: str, min_similarity: float = 0.5) -> str | None:
        """The single sentence of the best passages that answers `query` most closely, if close enough."""
        from .documents import sentences

        candidates = [s for p in self.search(query, caller_user, limit=3) for s in sentences(p.text)]
        if not candidates:
            return None
        query_vector = self._embed_cached([query])[0]
        similarity = self._embed_cached(candidates) @ query_vector
        best = int(np.argmax(similarity))
        return candidates[best] if similarity[best] >= min_similarity else None

    def _embed_cached(self, texts: list[str]) -> np.ndarray:
        """Sentence vectors, remembered: the same knowledge-base sentences come up turn after turn."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._sentence_vectors]
        if missing:
            for text, vector in zip(missing, self._embedder.embed(missing), strict=True):
                self._sentence_vectors[text] = vector
            while len(self._sentence_vectors) > 4096:
                self._sentence_vectors.pop(next(iter(self._sentence_vectors)))
        return np.stack([self._sentence_vectors[t] for t in texts])

    def _keyword_hits(self, query: str, caller_user: str, limit: int) -> list[int]:
        words = [w for w in re.findall(r"\w+", query.lower()) if len(w) > 2 and w not in STOP_WORDS]
        if not words:
            return []
        rows = self._db.execute(
            "SELECT p.id FROM passages_fts f JOIN passages p ON p.id = f.rowid WHERE passages_fts MATCH ?"
            " AND (p.scope = 'org' OR (p.scope = 'caller' AND p.caller_user = ? AND ? != ''))"
            " ORDER BY bm25(passages_fts) LIMIT ?",
            (" OR ".join(f'"{w}"' for w in words), caller_user, caller_user, limit)).fetchall()
        return [r[0] for r in rows]
