"""Matching what a caller said to fixed texts by meaning: MiniLM sentence embeddings, with keywords as tie-break.

`MeaningIndex` embeds its texts once; a query costs one embedding (a few ms on a CPU) and one matrix product.
`Intents` is one index over the example phrasings of named intents. Both are immutable after construction, so
any number of threads may query them at once; embedding is CPU work, so callers on the event loop run queries in a
worker thread (`asyncio.to_thread`). Without an embedder (None) they match by keywords. Every index on one
embedder shares its `CachedEmbedder` (thread-safe): a turn matched against intents, forms and facts is embedded
once.

The small word tools (stems, content words, edit distance) live here too: knowledge and the switchboard use them.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from memory.embeddings import Embedder
from memory.stopwords import STOP_WORDS

# Weight of keyword overlap in a score (the rest is cosine similarity): enough to break a near tie between two
# texts, never enough to carry a text on shared words alone.
KEYWORD_WEIGHT = 0.15
# A score at or above this is "probably the same meaning" with MiniLM: unrelated sentences score 0.0-0.35,
# paraphrases 0.5-0.9. Callers with their own calibration pass `min_score`.
DEFAULT_MIN_SCORE = 0.5
KEYWORDS_ONLY_MIN_SCORE = 0.5  # without an embedder: half of the query's content words found in the text

_WORD = re.compile(r"[a-z0-9]+")
STOP = STOP_WORDS | frozenset(
    "a an and as at be by do does doing done i if in is me of on or so to up us we am an it its get got "
    "hi hello hey thanks thank ok okay um uh er oh well yeah like just really also very much many "
    "ve ll re don didn doesn isn aren wasn weren won wouldn couldn shouldn haven hasn hadn ain gonna wanna gotta "
    "cause because though although while since whether either neither nor per via".split())


def words(text: str) -> list[str]:
    """Lower-case words and numbers ("call-out" is two words, "what's" is "what" and "s")."""
    return _WORD.findall(text.lower())


def stem(word: str) -> str:
    """A crude English stem, the same for a word's common inflections (leaks, leaking, leaked -> leak; come,
    coming -> com; prices -> pric): not a word, only something to compare."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "sses", "xes", "zes")) and len(word) > 5:
        return word[:-2]  # boxes, brushes -> box, brush
    for suffix in ("ing", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            word = word[: -len(suffix)]
            if suffix in ("ing", "ed") and len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]  # stopped -> stopp -> stop
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 and not word.endswith("ee") else word


def content_words(text: str) -> list[str]:
    """The words that carry meaning (not stop words, not single letters), in order, without repeats."""
    return list(dict.fromkeys(w for w in words(text) if w not in STOP and (len(w) > 1 or w.isdigit())))


def question_frame(question: str, named: Sequence[str]) -> str:
    """The question with what it names put as one "something" ("Could you deal with a something?" for "... a shower
    that drips all night?"): what it asks of the thing, for its topic, which the thing's own words drown (it is
    services, asked as "could you deal with"). A description after a thing ("a something that something all
    something") is more of the thing. "" when it names nothing."""
    if not named:
        return ""
    pattern = r"\b(?:" + "|".join(re.escape(w) for w in sorted(set(named), key=len, reverse=True)) + r")\b"
    tokens = re.findall(r"[\w'-]+|[^\w\s]", re.sub(pattern, "something", question, flags=re.IGNORECASE))
    kept: list[str] = []
    for i, token in enumerate(tokens):
        if kept[-2:-1] and kept[-2].lower() in _DETERMINERS and kept[-1] == "something" and _describes(tokens, i):
            continue  # "a something that something ...": a thing and its description ("do you cut hair" is not)
        kept.append(token)
    return " ".join(kept)


_DETERMINERS = frozenset("a an the my our your his her their this that these those some any".split())


def _describes(tokens: Sequence[str], i: int) -> bool:
    """Whether the token at i, after a "something", is more of it: "something" again, or a small word before one."""
    rest = tokens[i:]
    end = next((j for j, t in enumerate(rest) if t == "something" or not _small(t)), len(rest))
    return end < len(rest) and rest[end] == "something"


def _small(token: str) -> bool:
    return bool(re.fullmatch(r"[\w'-]+", token)) and not content_words(token)


def keywords(text: str) -> set[str]:
    return {stem(w) for w in content_words(text)}


def edit_distance(a: str, b: str, limit: int = 99) -> int:
    """Levenshtein distance (insert, delete, substitute), stopping early once it exceeds `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def spelled_alike(a: str, b: str) -> bool:
    """Words a recogniser confuses in spelling: one edit apart from 5 letters, two from 7 (booking/working)."""
    if a == b:
        return True
    shorter = min(len(a), len(b))
    allowed = 0 if shorter < 5 else 1 if shorter < 7 else 2
    return allowed > 0 and edit_distance(a, b, allowed) <= allowed


class CachedEmbedder:
    """An Embedder that keeps the vectors of the last texts it embedded: in one turn the caller's words are matched
    against intents, forms and facts, and embedded once. Thread-safe; `cached(embedder)` gives the one per
    embedder."""

    def __init__(self, embedder: Embedder, size: int = 4096):
        self._embedder = embedder
        self._size = size
        self._lock = threading.Lock()
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()

    def embed(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            known = {t: self._vectors[t] for t in texts if t in self._vectors}
            for t in known:
                self._vectors.move_to_end(t)
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:  # embedded outside the lock: other threads go on matching meanwhile
            known.update(zip(missing, self._embedder.embed(missing), strict=True))
            with self._lock:
                self._vectors.update((t, known[t]) for t in missing)
                while len(self._vectors) > self._size:
                    self._vectors.popitem(last=False)
        if not texts:
            return self._embedder.embed([])
        return np.stack([known[t] for t in texts])


_CACHES: weakref.WeakKeyDictionary[object, CachedEmbedder] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def cached(embedder: Embedder | None) -> CachedEmbedder | None:
    """The one cache of `embedder`'s vectors (None stays None, a cache is its own)."""
    if embedder is None or isinstance(embedder, CachedEmbedder):
        return embedder
    with _CACHES_LOCK:
        cache = _CACHES.get(embedder)
        if cache is None:
            cache = _CACHES[embedder] = CachedEmbedder(embedder)
        return cache


@dataclass(frozen=True)
class Match:
    """A text of the index that matches a query. `score` is in [0, 1]: (1 - KEYWORD_WEIGHT) times the cosine
    similarity of the two embeddings (negative counts as 0) plus KEYWORD_WEIGHT times the share of the query's
    content words (stemmed) that the text contains; without an embedder, that share alone."""

    index: int
    text: str
    score: float


class MeaningIndex:
    """Texts embedded once (MiniLM, memory.embeddings.Embedder, may be None: keywords only); a query matched by
    cosine similarity with keyword overlap as the tie-break. Thread-safe for reads; embedding is CPU work, so
    callers on the event loop run `best` in a worker thread (asyncio.to_thread)."""

    def __init__(self, embedder: Embedder | None, texts: Sequence[str]):
        self.texts = tuple(texts)
        self._embedder = cached(embedder)  # shared with every index on the same embedder
        self._keys = [keywords(t) for t in self.texts]
        self._vectors = embedder.embed(list(self.texts)) if embedder is not None and self.texts else None

    @property
    def embedder(self) -> Embedder | None:
        return self._embedder

    @property
    def vectors(self) -> list[np.ndarray | None]:
        """The texts' embeddings, in order (None each without an embedder)."""
        return list(self._vectors) if self._vectors is not None else [None] * len(self.texts)

    @property
    def min_score(self) -> float:
        return DEFAULT_MIN_SCORE if self._embedder is not None else KEYWORDS_ONLY_MIN_SCORE

    def vector(self, query: str) -> np.ndarray | None:
        """The query's embedding (one model call), to share between indexes; None without an embedder."""
        return self._embedder.embed([query])[0] if self._embedder is not None else None

    def similarities(self, vector: np.ndarray | None) -> np.ndarray:
        """Cosine similarity of a query vector to every text (zeros without one)."""
        if vector is None or self._vectors is None:
            return np.zeros(len(self.texts), dtype=np.float32)
        return self._vectors @ vector

    def scores(self, query: str, vector: np.ndarray | None = None) -> np.ndarray:
        """Every text's score for the query (see `Match`); `vector` is the query's embedding if already made."""
        if not self.texts:
            return np.zeros(0, dtype=np.float32)
        asked = keywords(query)
        overlap = np.array([len(asked & k) / len(asked) if asked else 0.0 for k in self._keys], dtype=np.float32)
        if self._vectors is None:
            return overlap
        if vector is None:
            vector = self.vector(query)
        cosine = np.clip(self.similarities(vector), 0.0, 1.0)
        return (1.0 - KEYWORD_WEIGHT) * cosine + KEYWORD_WEIGHT * overlap

    def ranked(self, query: str, limit: int = 3, vector: np.ndarray | None = None) -> list[Match]:
        """The `limit` best texts for the query, best first (whatever their score)."""
        if not self.texts or not query.strip():
            return []
        scores = self.scores(query, vector)
        order = np.argsort(-scores, kind="stable")[:limit]
        return [Match(int(i), self.texts[int(i)], float(scores[int(i)])) for i in order]

    def best(self, query: str, min_score: float | None = None, vector: np.ndarray | None = None) -> Match | None:
        """The best text if it scores at least `min_score` (default: `self.min_score`), else None."""
        top = self.ranked(query, 1, vector)
        threshold = self.min_score if min_score is None else min_score
        return top[0] if top and top[0].score >= threshold else None


class Intents:
    """Named intents, each a list of example phrasings, matched by meaning (one MeaningIndex over all examples)."""

    def __init__(self, embedder: Embedder | None, intents: Mapping[str, Sequence[str]],
                 min_score: float | None = None, margin: float = 0.0):
        self.names = tuple(intents)
        self._owner = [name for name, examples in intents.items() for _ in examples]
        self.index = MeaningIndex(embedder, [e for examples in intents.values() for e in examples])
        self._min_score = min_score
        self._margin = margin

    def scores(self, text: str, vector: np.ndarray | None = None) -> dict[str, float]:
        """Each intent's score: that of its closest example."""
        out = dict.fromkeys(self.names, 0.0)
        if not text.strip():
            return out
        for owner, score in zip(self._owner, self.index.scores(text, vector), strict=True):
            out[owner] = max(out[owner], float(score))
        return out

    def similarities(self, vector: np.ndarray | None) -> dict[str, float]:
        """Each intent's cosine similarity to a query vector: that of its closest example (no keywords)."""
        out = dict.fromkeys(self.names, 0.0)
        for owner, cosine in zip(self._owner, self.index.similarities(vector), strict=True):
            out[owner] = max(out[owner], float(cosine))
        return out

    def classify(self, text: str, vector: np.ndarray | None = None) -> tuple[str, float] | None:
        """The intent meant, with its score; None when no intent scores high enough or two are too close."""
        ranked = sorted(self.scores(text, vector).items(), key=lambda item: -item[1])
        if not ranked:
            return None
        threshold = self.index.min_score if self._min_score is None else self._min_score
        (name, score), runner_up = ranked[0], ranked[1][1] if len(ranked) > 1 else 0.0
        if score < threshold or score - runner_up < self._margin:
            return None
        return name, score
