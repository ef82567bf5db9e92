"""Pick the fact that answers what the caller asked, by meaning (MiniLM) with keywords as the tie-break.

A small model often fails to use a fact buried in its instructions; leading the reply with the matching fact keeps
the bundled 135M model useful, and a stronger model simply continues from it. Used for the profile's facts and for
what memory knows of the caller ("Your booking reference is 4471.").

A question is matched to a fact in three ways, and the best counts:
- directly: the question's embedding is close to the fact's ("Are you open on Saturdays?" / "We are open Monday
  to Friday ...");
- through a topic: front-desk questions fall into a few kinds (hours, prices, services, ...; `intents.TOPICS`). A
  question close to a kind ("What kind of work do you do?" -> services) reaches the facts of that kind ("We fix
  leaks, ...") though the two sentences share few words. The kind is also judged on the question with the things it
  names left out ("Could you deal with something that something all something?"), so that a question about a
  shower that drips, which the facts cover by meaning, is of the services kind as its wording says (services
  only: a price or an opening time is of one thing);
- by its things: every specific thing the question names is in the fact ("can you unblock a drain").
The specific things the question names must be in the fact, by word, spelling, sound (a recogniser's "working
reference" for "booking reference") or meaning ("Saturdays" ~ "Friday", "sink" ~ "drains"): "Do you fix cars?"
names cars, which no fact covers, so it gets no answer rather than the plumbing fact. Unsure: None.

`FactFinder` is immutable after construction and safe to share between threads; `answer` costs one embedding call,
CPU work to run off the event loop (asyncio.to_thread).
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from memory.embeddings import Embedder
from memory.extractor import NUMBER_WORDS

from .intents import TOPICS
from .meaning import (
    KEYWORD_WEIGHT,
    Intents,
    Match,
    MeaningIndex,
    cached,
    content_words,
    question_frame,
    spelled_alike,
    stem,
    words,
)
from .phonetic import heard_alike

# Calibrated on MiniLM (all-MiniLM-L6-v2) with questions and off-topic questions for two businesses and a caller's
# remembered facts (tests/test_meaning.py): answer at or above this score.
MIN_SCORE = 0.5
WORD_MIN_SIMILARITY = 0.45  # a question's word is "in" a fact when one of the fact's words is this close
PHRASE_MIN_SIMILARITY = 0.6  # ... or the words the question names together are this close to a phrase of the fact
SOUND_MIN_SIMILARITY = 0.85  # ... or sounds this alike (see `phonetic.heard_alike`)
FACT_TOPIC_MIN = 0.35  # a fact is of a topic when that close to its examples ...
FACT_TOPIC_SPREAD = 0.1  # ... and within this of its closest topic
TOPIC_MIN = 0.5  # a question is of a topic when that close to one of its examples ...
TOPIC_CREDIT = 0.6  # ... and then its meaning is taken to be that of the topic's facts, at least this
# The kinds judged also on the question without its things (`meaning.question_frame`): what the business does
# covers things alike ("a shower that drips" / "leaks"); a price or an opening time is of one thing ("how much are
# dentures" is not answered by the price of a check-up), so those are judged on the whole question only.
FRAMED_TOPICS = frozenset(("services",))
NAMED_THINGS_SCORE = 0.6  # the meaning credited to a fact that has every specific thing the question names

# Words that say what kind of thing is asked rather than name a specific thing: a question need not find these
# in the fact ("What *kind* of *work* do you do?"), unlike "cars" in "Do you fix cars?". Such a word still counts
# when some fact has it ("what's my *reference*?" is not about the fact that has "name").
GENERIC = frozenset((
    # what is asked about, in general terms
    "kind sort type work job thing stuff something anything everything service offer provide handle deal "
    "cost charge price fee rate money open close hour time day today tonight tomorrow week weekday "
    "address place location way fix repair name number reference detail record file info information "
    "company business office availability booking appointment visit someone somebody anyone people guy folk "
    # common verbs (a stem covers their forms)
    "be have do make take give get got need want like know tell help look see seen come go went gone call ask say "
    "said think find found let put bring send happen use mean keep kept start finish pay book remind remember "
    "forget forgot lost wonder hope try wait sort able manage arrange check handle deal provide offer cover "
    "accept locate stop stopped turn happen set reach contact ring phone email text treat serve cater base based "
    "run open close leave stay live move bring carry show hear speak talk say sound seem feel become begin end "
    "keep hold give pass pick drop fill sign book cancel change move follow include consider expect wonder "
    "guess suppose believe understand mind bother charge quote estimate suit suits "
    # common adjectives and adverbs
    "possible long soon often far usual usually normally generally currently right now still expensive cheap "
    "much many more most less least late early quick quickly fast slow urgent urgently really very quite bad "
    "badly good great best better worse worst big small little new old next last same other different sure "
    "available free open closed exact exactly around roughly approximately typically ever yet already again "
    "back round over until till when where which who whom whose there here one two first second line"
).split())
_FIRST_PERSON = frozenset("i me my mine myself".split())
_NUMBER_WORDS = frozenset(NUMBER_WORDS)
_NEGATION = re.compile(r"\b(?:not|no|never|nor|cannot)\b|n't\b", re.IGNORECASE)
# A word or two before a comma that opens a longer question: a greeting or a name ("Hiya, ...", "Joe, ..."), often
# misheard ("Trillo, what sort of job do you take on?"); it names nothing the question asks about, unless the
# question points back at it.
_FOLLOW_ON = re.compile(r"^\W*(?:(?:and |so )?(?:what|how) about|and|also|plus|then)\b", re.IGNORECASE)
_OWN_QUESTION = re.compile(r"\b(?:do|does|did|is|are|was|were|can|could|will|would|have|has|what|what's|how|when|where"
                           r"|which|who|why)\b", re.IGNORECASE)
_BACK = re.compile(r"\b(?:it|them|they|those|these|ones?)\b", re.IGNORECASE)  # "Cars, do you fix them?": named
_OPENING = re.compile(r"^\W*([A-Za-z']+(?: [A-Za-z']+)?)\s*,\s*(?=(?:\S+\s+){2,}\S)")
_SECOND_PERSON = frozenset("your yours".split())


@dataclass(frozen=True)
class _Fact:
    text: str
    topics: frozenset[str]
    vocabulary: tuple[str, ...]  # its words and stems, and joined pairs ("check-up" -> "checkup")
    stems: frozenset[str]  # the stems of all these
    about_caller: bool  # "Your name is ...": what we know of the caller, never an answer about the business
    subject: tuple[str, ...]  # about the caller: the words naming what is known ("booking reference")
    phrases: tuple[str, ...]  # its runs of meaningful words: "fix leaks", "blocked drains", "water heaters"


@dataclass(frozen=True)
class _Question:
    asked: list[str]  # its content words
    named: list[str]  # those naming specific things
    pointed: list[str]  # general words that some fact has ("reference")
    runs: dict[str, str]  # each named word's run of named words ("tanks" -> "hot water tanks")
    pairs: list[str]  # two words written as one ("callback")
    vectors: dict[str, np.ndarray]  # of the named words and runs
    vector: np.ndarray | None  # of the question
    topics: dict[str, float]  # its similarity to each topic
    personal: bool  # it says "I", "me" or "my"
    to_us: bool  # it says "your"


class _Shared:
    """What every FactFinder of one embedder shares: the topic examples' embeddings, and the embedder's cache of
    vectors (of questions, facts, and their words and phrases)."""

    def __init__(self, embedder: Embedder | None):
        self.embedder = cached(embedder)
        self.topics = Intents(self.embedder, TOPICS)

    def word_vectors(self, texts: Sequence[str], also: str = "") -> tuple[dict[str, np.ndarray], np.ndarray | None]:
        """Vectors of words or phrases, and of `also` (a whole question), made in one model call (what the cache
        does not have yet)."""
        batch = list(dict.fromkeys(([also] if also else []) + list(texts)))
        if self.embedder is None or not batch:
            return {}, None
        vectors = dict(zip(batch, self.embedder.embed(batch), strict=True))
        return vectors, vectors[also] if also else None


_SHARED: weakref.WeakKeyDictionary[object, _Shared] = weakref.WeakKeyDictionary()
_SHARED_LOCK = threading.Lock()
_NO_EMBEDDER = _Shared(None)


def _shared(embedder: Embedder | None) -> _Shared:
    if embedder is None:
        return _NO_EMBEDDER
    with _SHARED_LOCK:
        shared = _SHARED.get(embedder)
        if shared is None:
            shared = _SHARED[embedder] = _Shared(embedder)
        return shared


_GENERIC_STEMS = GENERIC | {stem(w) for w in GENERIC}


def _generic(word: str) -> bool:
    return word in _GENERIC_STEMS or stem(word) in _GENERIC_STEMS


def _vocabulary(text: str) -> tuple[str, ...]:
    ws = [w for w in content_words(text) if not w.isdigit()]
    return tuple(dict.fromkeys(ws + [stem(w) for w in ws] + _pairs(text)))


def _pairs(text: str) -> list[str]:
    """Two words written as one, where one of them means something: "check up" -> "checkup"."""
    ws = [w for w in words(text) if not w.isdigit()]
    meaningful = set(content_words(text))
    return ["".join(p) for p in zip(ws, ws[1:], strict=False) if meaningful & set(p)]


_TOKENS = re.compile(r"[a-z0-9]+|[,.;:!?]")


def _runs(text: str, keep: Callable[[str], bool]) -> list[str]:
    """The runs of words kept, between punctuation and the words not kept: "hot water tanks"."""
    runs, run = [], []
    for token in [*_TOKENS.findall(text.lower()), "."]:
        if keep(token):
            run.append(token)
        elif run:
            runs.append(" ".join(run))
            run = []
    return list(dict.fromkeys(runs))


def _subject(text: str) -> tuple[str, ...]:
    """"Your booking reference is 4471." -> ("booking", "reference", "bookingreference")."""
    head = text.lower().removeprefix("your ").partition(" is ")[0].partition(" are ")[0]
    return _vocabulary(head)


def _spelled_in(vocabulary: Sequence[str], word: str) -> bool:
    """Whether the word, or its stem, is in the vocabulary give or take a recogniser's slip of spelling or sound."""
    for v in vocabulary:
        if spelled_alike(word, v) or spelled_alike(stem(word), v):
            return True
        if heard_alike(word, v, SOUND_MIN_SIMILARITY):
            return True
    return False


class FactFinder:
    """The fact, among a fixed few, that answers a caller's question; None when unsure."""

    def __init__(self, embedder: Embedder | None, facts: Sequence[str], min_score: float = MIN_SCORE):
        self._shared = _shared(embedder)
        self.index = MeaningIndex(self._shared.embedder, facts)
        self._min_score = min_score
        vocabularies = [_vocabulary(f) for f in self.index.texts]
        meaningful = {w for f in self.index.texts for w in content_words(f) if not w.isdigit()}
        phrases = [p for f in self.index.texts for p in _runs(f, lambda w: w in meaningful)]
        self._all_words = tuple(dict.fromkeys([*(w for v in vocabularies for w in v), *phrases]))
        self._all_stems = frozenset(stem(w) for w in self._all_words)
        self._compounds = frozenset(p for f in self.index.texts for p in _pairs(f))  # "callout" of "call-out"
        self._hyphenated = frozenset(  # the business's own terms ("call-out"), not numbers ("sixty-five")
            m.replace("-", "") for f in self.index.texts for m in re.findall(r"\b[a-z]+-[a-z]+\b", f.lower())
            if not set(m.split("-")) & _NUMBER_WORDS)
        self._vectors, _ = self._shared.word_vectors(self._all_words)
        self._facts = tuple(
            _Fact(text, self._topics_of(self._shared.topics.similarities(vector)), vocabulary,
                  frozenset(stem(w) for w in vocabulary), text.lower().startswith("your "), _subject(text),
                  tuple(_runs(text, lambda w: w in meaningful)))
            for text, vector, vocabulary in zip(self.index.texts, self.index.vectors, vocabularies, strict=True))

    @staticmethod
    def _topics_of(scores: dict[str, float]) -> frozenset[str]:
        top = max(scores.values(), default=0.0)
        return frozenset(t for t, s in scores.items() if s >= FACT_TOPIC_MIN and s >= top - FACT_TOPIC_SPREAD)

    def answer(self, question: str, follows: str = "") -> str | None:
        """The fact that answers the question, or None. `follows`: the question just answered with a fact, for a
        follow-on ("How much is a check-up?" ... "And a scale and polish?"). Two facts that answer it equally well
        are both said ("What do you charge?" of a clinic with a check-up price and a cleaning price), in their
        order: picking one would be a guess."""
        ranked = self.ranked(question, 2, follows)
        if not ranked or ranked[0].score < self._min_score:
            return None
        tied = [m for m in ranked if m.score == ranked[0].score]
        return " ".join(m.text for m in sorted(tied, key=lambda m: m.index))

    def match(self, question: str, follows: str = "") -> Match | None:
        """The best fact with its score (see `MeaningIndex`'s `Match`), if it scores at least `min_score`."""
        ranked = self.ranked(question, 1, follows)
        return ranked[0] if ranked and ranked[0].score >= self._min_score else None

    def ranked(self, question: str, limit: int = 3, follows: str = "") -> list[Match]:
        """The facts best first, scored: meaning (direct, through a topic, or by the things named), plus keywords
        as the tie-break; a fact missing what the question names gets no credit beyond the direct meaning.
        A follow-on ("and a filling?", "what about Saturdays?") is of the kind of question it follows, and a fact
        need have only some of what it names."""
        if not self._facts or not question.strip():
            return []
        opening = _OPENING.match(question)
        if opening is not None and not _BACK.search(question[opening.end():]):
            question = question[opening.end():]  # "Hiya, are you open on Saturdays?"
        q = self._question(question)
        opener = _FOLLOW_ON.match(question)
        follow_on = (opener is not None and bool(follows.strip()) and len(words(question)) <= 12
                     and not _OWN_QUESTION.search(question[opener.end():]))  # a fragment, not "and do you ...?"
        answered = self.match(follows) if follow_on else None
        if answered is not None:  # of the kind of the fact that answered the question it follows
            kinds = self._facts[answered.index].topics
            q = replace(q, topics={t: max(score, TOPIC_MIN) if t in kinds else score for t, score in q.topics.items()})
        cosine = np.clip(self.index.similarities(q.vector), 0.0, 1.0)
        scored = [(score, float(cosine[i]), i) for i, fact in enumerate(self._facts)
                  if (score := self._score(fact, q, float(cosine[i]), follow_on)) is not None]
        scored.sort(key=lambda m: (-m[0], -m[1]))  # a tie goes to the fact closer in meaning
        return [Match(i, self._facts[i].text, score) for score, _, i in scored[:limit]]

    def _question(self, question: str) -> _Question:
        asked = content_words(question)  # may be empty: "where are you?" is all small words, and a topic
        named = [w for w in asked if not w.isdigit() and not _generic(w)]  # "cars" in "do you fix cars?"
        # and a thing the facts name in two common words ("call-out", "check-up"), said as the facts say it
        named += [p for p in _pairs(question) if p in self._compounds and p not in named]
        runs = {w: run for run in _runs(question, lambda w: w in named) for w in run.split()}
        frame = question_frame(question, named)
        vectors, vector = self._shared.word_vectors([*named, *runs.values(), *([frame] if frame else [])],
                                                    also=question)
        topics = self._shared.topics.similarities(vector)
        if frame and vector is not None:  # what is asked of the things: "could you deal with something ...?"
            framed = self._shared.topics.similarities(vectors[frame])
            topics = {t: max(score, framed.get(t, 0.0)) if t in FRAMED_TOPICS else score for t, score in topics.items()}
        said = set(words(question))
        return _Question(asked, named, [w for w in asked if _generic(w) and stem(w) in self._all_stems], runs,
                         _pairs(question), vectors, vector, topics, bool(_FIRST_PERSON & said),
                         bool(_SECOND_PERSON & said))

    def _score(self, fact: _Fact, q: _Question, cosine: float, follow_on: bool = False) -> float | None:
        """The fact's score for the question (see `Match`), or None when it cannot be the answer."""
        if fact.about_caller and (q.to_us and not q.personal or not self._asks_for(fact, q)):
            return None  # "what's your name?" asks about us; "what's my address?" is not "Your name is ..."
        missing = [w for w in q.named if not self._covers(fact, w, q)]
        covered = 1.0 - len(missing) / len(q.named) if q.named else 1.0
        if follow_on and missing != q.named:  # "and a scale and polish with the hygienist?": the hygienist's fact
            covered = 1.0
        if covered >= 0.5:
            meaning = cosine
        else:  # "how much is a root canal?" is not answered by the price of a check-up
            meaning = 0.0 if fact.about_caller or not covered else cosine / 2
        if covered >= 0.5 and (not q.pointed or any(_spelled_in(fact.vocabulary, w) for w in q.pointed)):
            via_topic = max((q.topics.get(t, 0.0) for t in fact.topics), default=0.0)
            meaning = max(meaning, max(via_topic, TOPIC_CREDIT) if via_topic >= TOPIC_MIN else 0.0,
                          NAMED_THINGS_SCORE if self._names_it(fact, q, missing) else 0.0)
        overlap = sum(_spelled_in(fact.vocabulary, w) for w in q.asked) / len(q.asked) if q.asked else 0.0
        if q.vector is None:
            meaning = overlap
        return round((1 - KEYWORD_WEIGHT) * meaning + KEYWORD_WEIGHT * overlap, 4)

    def about(self, description: str) -> str | None:
        """The one fact about what a caller's description names ("an old boiler that keeps cutting out": "We fix
        ... boilers ..."): it has at least one of the things by its very word, and most of them. Said
        before a form is offered for the problem, as a receptionist says "we do boilers" before offering a visit.
        None when no fact, or more than one, is about it; a fact that says what is not done is never one."""
        if not self._facts or not description.strip():
            return None
        q = self._question(description)
        found = [fact.text for fact in self._facts if not fact.about_caller and q.named
                 and not _NEGATION.search(fact.text)  # "we do not fix roofs" is no lead-in to "shall I book?"
                 and any(stem(w) in fact.stems for w in q.named)
                 and 2 * sum(not self._covers(fact, w, q) for w in q.named) < len(q.named)]
        return found[0] if len(found) == 1 else None

    def _names_it(self, fact: _Fact, q: _Question, missing: Sequence[str]) -> bool:
        """Whether the question names what the fact is about by the fact's very word, and nothing it names is
        missing from the fact; or, when the word is one the business hyphenates for a thing of its own ("call-out",
        "check-up") and no other fact has, whether all that is missing are a recogniser's fragments (a word of one or
        two letters) that no other fact has ("What's your call-out CV days?" for "callout fee these days"; not "is a
        check-up for a crown ...?", a thing no fact has, nor a word the opening hours have)."""
        literal = [w for w in q.named if stem(w) in fact.stems]
        if not literal or not missing:
            return bool(literal)
        own_terms = [w for w in literal if w in self._hyphenated
                     and not any(w in other.stems for other in self._facts if other is not fact)]
        fragments = all(len(w) <= 2 for w in missing)  # letters heard ("CV"), not a thing asked about ("crown")
        stray = not any(self._covers(other, w, q) for w in missing for other in self._facts if other is not fact)
        return bool(own_terms) and fragments and stray

    def _asks_for(self, fact: _Fact, q: _Question) -> bool:
        """Whether the question names what a fact about the caller is about ("my *reference*", "my *name*")."""
        return any(_spelled_in(fact.subject, w) or self._close(fact.subject, q.vectors.get(w))
                   for w in q.asked + q.pairs)

    def _covers(self, fact: _Fact, word: str, q: _Question) -> bool:
        """Whether the fact has the word, or one spelled, sounding or meaning alike; or the word is half of a pair
        the fact has ("call back" / "callback"); or the words named with it are close to a phrase of the fact
        ("hot water tanks" / "water heaters")."""
        if _spelled_in(fact.vocabulary, word) or self._close(fact.vocabulary, q.vectors.get(word)):
            return True
        if any(word in pair and _spelled_in(fact.vocabulary, pair) for pair in q.pairs):
            return True
        return self._close(fact.phrases, q.vectors.get(q.runs.get(word, "")), PHRASE_MIN_SIMILARITY)

    def _close(self, vocabulary: Sequence[str], vector: np.ndarray | None,
               min_similarity: float = WORD_MIN_SIMILARITY) -> bool:
        if vector is None:
            return False
        return any(float(self._vectors[v] @ vector) >= min_similarity for v in vocabulary if v in self._vectors)
