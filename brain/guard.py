"""Nothing is invented: a model's sentence that states a price, a time, a day, a number or a name found in no
fact, no memory and no knowledge the bot was given is not spoken; the honest fallback is said instead.

Pure and deterministic (no model judges the model). `grounded` checks the model's reply sentence by sentence
as it streams: a grounded reply starts once its first whole sentence is written (a few tenths of a second later
than the first clause, which the speaker would otherwise start with: the price of never speaking half a claim).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field

from memory.extractor import normalise_numbers
from speech.sentences import SentenceChunker

_UNITS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen".split())}
_TENS = {w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
_SCALES = {"hundred": 100, "thousand": 1000}
_NUMBER_WORD = "|".join([*_UNITS, *_TENS, *_SCALES])
_NUMBER_RUN = re.compile(rf"\b(?:(?:{_NUMBER_WORD})(?:[\s-]+(?:and\s+)?)?)+\b", re.IGNORECASE)
_DIGITS = re.compile(r"\d+(?:[.,:]\d+)*")
_DAYS = re.compile(r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekends?|weekdays?)s?\b",
                   re.IGNORECASE)
_CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-z]{2,})\b")
# Capitalised words that name nobody (the model capitalises these mid-sentence).
_NOT_NAMES = frozenset(
    "I I'm I'll I've I'd OK Okay Sure Thank Thanks Please Hello Hi Mr Mrs Ms Dr Sir Madam Yes No January February "
    "March April May June July August September October November December English Internet Wi Fi".split())
WHOLE = 10_000  # a sentence is checked whole: a clause spoken before its number is found would dangle
# Numbers a reply may say without a source: "one moment", "a couple of", "two sentences".
_FREE_NUMBERS = frozenset({"0", "1", "2"})
_PRICE = re.compile(r"[$£€]\s*(\d+)|\b(\d+)\s*(?:dollars?|pounds?|euros?|bucks|cents?|pence|percent|%)", re.IGNORECASE)


def _words_to_numbers(text: str) -> str:
    """'eighty dollars' -> '80 dollars', 'two hundred and fifty' -> '250' (numbers up to the thousands)."""
    def value(match: re.Match) -> str:
        words = [w for w in re.split(r"[\s-]+", match.group(0).lower()) if w and w != "and"]
        if all(w in _UNITS for w in words) and len(words) > 1:  # digit by digit: 'four four seven one'
            return "".join(str(_UNITS[w]) for w in words)
        total, current = 0, 0
        for w in words:
            if w in _UNITS:
                current += _UNITS[w]
            elif w in _TENS:
                current += _TENS[w]
            elif w == "hundred":
                current = max(current, 1) * 100
            elif w == "thousand":
                total += max(current, 1) * 1000
                current = 0
        return str(total + current) + (" " if match.group(0).endswith(" ") else "")
    return _NUMBER_RUN.sub(value, text)


def _numbers(text: str) -> set[str]:
    plain = _words_to_numbers(normalise_numbers(text))
    out = set()
    for raw in _DIGITS.findall(plain):
        out.add(raw.replace(",", "").rstrip(".").lstrip("0") or "0")
        out.update(p.lstrip("0") or "0" for p in re.split(r"[.:]", raw.replace(",", "")) if p)  # 9:30 -> 9, 30
    return out


def _days(text: str) -> set[str]:
    return {m.lower().rstrip("s").replace("weekend", "saturday") for m in _DAYS.findall(text)}


@dataclass(frozen=True)
class Claims:
    numbers: frozenset[str] = frozenset()
    days: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()


def claims(sentence: str) -> Claims:
    """What a sentence states that must come from somewhere: numbers (prices, times, quantities), days, names."""
    names = {n for n in _CAPITALISED.findall(sentence) if n not in _NOT_NAMES and not _DAYS.fullmatch(n)}
    plain = _words_to_numbers(normalise_numbers(sentence))
    prices = {m.group(1) or m.group(2) for m in _PRICE.finditer(plain)}  # "1 dollar" is a price, not "one moment"
    numbers = (_numbers(sentence) - _FREE_NUMBERS) | {p.lstrip("0") or "0" for p in prices}
    return Claims(frozenset(numbers), frozenset(_days(sentence)), frozenset(names))


@dataclass
class Grounds:
    """Everything the bot may state: the profile and its facts, the directory, the caller's memory, what the caller
    said on this call, the knowledge passages found for this turn. Kept as the claims they contain."""
    numbers: set[str] = field(default_factory=set)
    days: set[str] = field(default_factory=set)
    words: set[str] = field(default_factory=set)

    def add(self, texts: Iterable[str]) -> Grounds:
        for text in texts:
            self.numbers |= _numbers(text)
            self.days |= _days(text)
            self.words |= {w.lower() for w in re.findall(r"[A-Za-z]+", text)}
            if {"monday", "friday"} <= self.days:  # "Monday to Friday" grounds the days between
                self.days |= {"tuesday", "wednesday", "thursday", "weekday"}
        return self

    def add_words(self, texts: Iterable[str]) -> Grounds:
        """Texts that ground names only, never a number or a day (what a caller said is a claim, not a source)."""
        for text in texts:
            self.words |= {w.lower() for w in re.findall(r"[A-Za-z]+", text)}
        return self

    def ungrounded(self, sentence: str) -> Claims:
        found = claims(sentence)
        return Claims(found.numbers - self.numbers, found.days - self.days,
                      frozenset(n for n in found.names if n.lower() not in self.words))


async def grounded(pieces: AsyncGenerator[str, None], grounds: Callable[[], Grounds], fallback: str,
                   on_refused: Callable[[str], None] | None = None) -> AsyncIterator[str]:
    """The model's streamed reply, sentence by sentence, up to the first sentence stating something ungrounded;
    that sentence and the rest are replaced by `fallback` (and `on_refused` is told what was refused)."""
    chunker = SentenceChunker(first_clause_min_words=WHOLE, first_piece_max_words=WHOLE)  # whole sentences
    said = False

    async def checked(sentences: list[str]) -> AsyncIterator[str]:
        nonlocal said
        for sentence in sentences:
            bad = grounds().ungrounded(sentence)
            if bad.numbers or bad.days or bad.names:
                if on_refused is not None:
                    on_refused(sentence)
                raise _Refused
            said = True
            yield sentence + " "

    try:
        async with contextlib.aclosing(pieces):  # a refused reply stops the model at once
            async for piece in pieces:
                async for out in checked(chunker.push(piece)):
                    yield out
        async for out in checked(chunker.flush()):
            yield out
    except _Refused:
        yield fallback
        return
    if not said:
        yield fallback


class _Refused(Exception):
    pass
