"""The business's own words, as a prompt that biases speech-to-text towards them.

Whisper heard "Acme Plumbing" as "Acne Plumbing" and "booking reference" as "walking reference" over an 8 kHz
line. Given as the text said before a turn (speech/stt.py `WhisperOptions.prompt`), the names and words a caller to
this business is likely to say are expected, and a near miss lands on them. The prompt is built at start from the
config (and again by `business_prompt.BusinessPrompt` with the knowledge base's passages, once the database is open
and whenever its documents change), up to MAX_WORDS: first the company and the bot's name; the directory's names
(up to half the words: what transfers and messages turn on, and what Whisper gets wrong most); `stt.extra_words`;
then, sharing what is left a phrase each in turn, the directory's departments, the words callers use with any
front desk (booking reference, callback number), the intake forms' names, the distinctive words of the profile
facts, of the forms' descriptions and example requests, and of the knowledge base. Web and e-mail addresses and
over-long "words" are left out. It is written like a transcript (short capitalised phrases, commas and full
stops), since Whisper takes it for what was said before, and kept short: every prompt token is decoder work on
every turn (about +10 ms a turn for 80 tokens with tiny.en on 2 cores). `employai eval hearing` measured the
dental clinic's business words heard right over G.711 at 82.8 % with a 36-word prompt in a fixed order, and
87.8 % with this one (+4 ms a turn). Pure: no I/O, no threads.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Iterable, Sequence

from sip_config import Config

MAX_WORDS = 48  # about 90 Whisper tokens with the punctuation (measured in tests/test_hearing.py)
# What callers say to any front desk, in the terms the bot's memory keeps them under (memory/extractor.py).
FRONT_DESK_WORDS = ("booking reference", "callback number")

# Words that carry no business meaning: a text is cut into phrases at them ("We fix leaks, blocked drains and
# water heaters." gives "leaks", "blocked drains", "water heaters"). Contractions ("I'd", "what's") are common too.
_COMMON = frozenset("""
a about after again all also am an and any anybody anyone anything are as ask at available back be because been
before being both but by call called calling can come comes could day days do does done during each else every
everybody fix for from get gets give go going good got had has have help hello here hi how i if in into is it its
just keep know leave let like look make many may me more most much my need next no not now of off ok okay on once
one only open or other our out over own pass per please put really right ring round same say see send should so
some somebody someone something soon speak still sure take talk tell thank thanks than that the their them then
there these they thing things this those through to too up us very via want was way we well were what when where
which who whom why will with would yes you your her him his she he cannot can't best
cost costs price prices free standard usual usually normal normally new first last most until
monday tuesday wednesday thursday friday saturday sunday weekday weekdays weekend weekends morning afternoon
evening night today tomorrow week weeks month months year years hour hours minute minutes time times age
zero two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty sixty seventy eighty
ninety hundred thousand dollars dollar pounds euros cents
caller customer customers problem problems person people name number numbers home phone place
""".split())
_NUMBERS = frozenset("zero one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty "
                     "sixty seventy eighty ninety hundred".split())


MAX_WORD_CHARS = 20  # a longer "word" is a code, a slug or pasted noise, not a word a caller says
# web and e-mail addresses ("https://...", "www.acme.com", "acme-plumbing.com/book", "bookings@acme.com"): not said
_LINKS = re.compile(r"\b(?:https?://|www\.)\S+|\S+@\S+|\b(?:[a-z0-9-]+\.)+[a-z]{2,}\b(?:/\S*)?", re.IGNORECASE)


def _is_common(word: str) -> bool:
    w = word.lower()
    if len(w) > MAX_WORD_CHARS or w.count("-") > 2:
        return True  # not a word of the business's either: it only separates phrases
    if "-" in w:  # "call-out", "check-up" are the trade's words; "sixty-five" is a number
        return all(part in _NUMBERS for part in w.split("-") if part)
    return "'" in w or len(w) < 3 or w in _COMMON


def distinctive_phrases(text: str) -> list[str]:
    """The runs of uncommon words in `text`, in order: "We fix leaks, blocked drains" -> ["leaks", ...]."""
    out: list[str] = []
    for clause in re.split(r"[.,;:!?()\"]+", _LINKS.sub(" , ", text)):
        run: list[str] = []
        for word in re.findall(r"[A-Za-z][A-Za-z'-]*[A-Za-z]|[A-Za-z]", clause):
            if _is_common(word):
                if run:
                    out.append(" ".join(run))
                run = []
            else:
                run.append(word)
        if run:
            out.append(" ".join(run))
    return out


def _forms(config: Config) -> tuple[list[str], list[str]]:
    """(the forms' names, the distinctive words of their descriptions and example requests). The fields' questions
    are the bot's words, not the caller's: the answers to them (names, numbers, times) are no business's words."""
    names: list[str] = []
    words: list[str] = []
    for form in getattr(config, "forms", ()) or ():
        names.append(str(getattr(form, "name", "")))
        texts = [str(getattr(form, "description", "")), *(str(e) for e in getattr(form, "examples", ()) or ())]
        words += [p for text in texts for p in distinctive_phrases(text)]
    return [n for n in names if distinctive_phrases(n)], words  # a name is kept whole if it has a word of its own


def _stem(word: str) -> str:
    w = word.lower().strip(".")
    return w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w


class _Budget:
    """Phrases kept, each only if it brings a word not already kept ("boiler" after "boilers" does not), up to
    `limit` words in all. The sources share it: after those taken whole (`whole`: the business's own name, its
    staff's names, the `stt.extra_words`), each other source gives one phrase a round, in turn (`shared`), until
    the words run out or no source has a phrase left. So a long directory or many facts do not crowd out the forms'
    words ("filling"), which a fixed order did: the dental clinic's prompt stopped before them, and "fillings" was
    heard as "feelings"."""

    def __init__(self, limit: int = MAX_WORDS) -> None:
        self._limit = limit
        self._seen: set[str] = set()
        self._words = 0

    def _take(self, phrase: str) -> str | None:
        words = phrase.split()
        stems = {_stem(w) for w in words}
        if not words or stems <= self._seen or self._words + len(words) > self._limit:
            return None
        self._seen |= stems
        self._words += len(words)
        return " ".join(words)

    def whole(self, phrases: Iterable[str], cap: int | None = None) -> list[str]:
        """All of these that fit, in order, up to `cap` words of them."""
        kept: list[str] = []
        ceiling = self._limit if cap is None else min(self._limit, self._words + cap)
        for phrase in phrases:
            if self._words + len(phrase.split()) <= ceiling and (taken := self._take(phrase)) is not None:
                kept.append(taken)
        return kept

    def shared(self, sources: Sequence[Iterable[str]]) -> list[list[str]]:
        """One phrase from each source a round; the phrases kept, by source."""
        pending = [deque(source) for source in sources]
        kept: list[list[str]] = [[] for _ in sources]
        while any(pending) and self._words < self._limit:
            for i, phrases in enumerate(pending):
                while phrases:  # a phrase that brings nothing new, or does not fit, does not use the turn
                    if (taken := self._take(phrases.popleft())) is not None:
                        kept[i].append(taken)
                        break
        return kept


def _sentence(group: Sequence[str]) -> str:
    first = group[0][:1].upper() + group[0][1:]
    return ", ".join([first, *group[1:]]) + "."


def _most_frequent(passages: Sequence[str]) -> list[str]:
    """The distinctive words of many passages, the most frequent first (in the form first seen)."""
    words = [w for text in passages for phrase in distinctive_phrases(text) for w in phrase.split()]
    form: dict[str, str] = {}
    for w in words:
        form.setdefault(_stem(w), w)
    return [form[stem] for stem, _ in Counter(_stem(w) for w in words).most_common()]


def business_vocabulary(config: Config, knowledge: Sequence[str] = (), max_words: int = MAX_WORDS) -> str:
    """The STT prompt for this business ("" when `stt.bias` is off), e.g. "Acme Plumbing, Joe. Sales, Billing,
    Bob Smith. Booking reference, callback number. Book a visit, take a message. Leaks, blocked drains, ...".
    `knowledge`: the knowledge base's passages, whose most frequent distinctive words take their turns last.
    """
    if not config.stt.bias:
        return ""
    profile = config.profile
    budget = _Budget(max_words)
    own = budget.whole([profile.company, profile.name])
    # the staff's names: what transfers and messages turn on, and what Whisper gets wrong most (half the words)
    names = budget.whole((e.name for e in config.transfer.directory), cap=max_words // 2)
    extra = budget.whole(config.stt.extra_words)
    form_names, form_words = _forms(config)
    left = [e for e in config.transfer.directory if e.name not in names]  # names past the half take turns too
    shared = budget.shared([
        [e.department for e in config.transfer.directory] + [e.name for e in left],
        FRONT_DESK_WORDS,
        form_names,
        [p for fact in profile.facts for p in distinctive_phrases(fact)],
        form_words,
        _most_frequent(knowledge),
    ])
    departments, *rest = shared
    groups = [own, names + departments, extra, *rest]  # read as a transcript: who we are, who works here, what we do
    return " ".join(_sentence(g) for g in groups if g)
