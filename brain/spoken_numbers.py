"""Phone numbers as callers say them: every digit in a turn, the number given in answer to "what's your number?",
a number read back digit by digit, and a correction of part of it.

Pure functions, no I/O: safe from any thread. Digit words come from `memory.extractor` (the table memory and the PIN
check use), plus what a phone number adds to it ("double five", "for" between two digits).
"""

from __future__ import annotations

import re

from memory.extractor import DIGIT_WORDS, normalise_numbers

__all__ = ["MAX_PHONE", "MIN_PHONE", "correct_number", "lowered", "number_said", "read_back_digits", "spoken_digits"]

MIN_PHONE, MAX_PHONE = 7, 15


def lowered(text: str) -> str:
    """Lower case, one space between words, a typographic apostrophe as a plain one."""
    return re.sub(r"\s+", " ", text.replace("\u2019", "'").lower()).strip()


_MULTIPLIERS = {"double": 2, "triple": 3}
# Words a transcriber writes for a digit said between two others ("three three one for four zero").
_HOMOPHONES = {"for": "four", "to": "two", "too": "two", "ate": "eight", "won": "one"}
_POSITION = re.compile(r"\b(?:the\s+)?(first|last|final)\s+(?:(one|two|three|four|five|six|seven|\d)\s+)?"
                       r"(?:digits?|numbers?|ones?|bits?|part)?\b")
_HEAD = re.compile(r"\b(?:first|starts? with|starting with|begins? with|beginning)\b")


def spoken_digits(text: str) -> str:
    """Every digit the caller said, in order: "five five five, oh one oh" and "double seven" and "555-0107" alike.

    "one" and "oh" with no other digit next to them ("this one, oh sorry") are words, not digits."""
    tokens = re.findall(r"[a-z]+|\d+", normalise_numbers(lowered(text)))

    def digit(token: str) -> bool:
        return token.isdigit() or token in DIGIT_WORDS
    tokens = [_HOMOPHONES[t] if t in _HOMOPHONES and 0 < i < len(tokens) - 1 and digit(tokens[i - 1])
              and digit(tokens[i + 1]) else t for i, t in enumerate(tokens)]
    runs: list[list[tuple[str, str]]] = [[]]
    times = 1
    for token in tokens:
        if token in _MULTIPLIERS:
            times = _MULTIPLIERS[token]
            continue
        digits = token if token.isdigit() else DIGIT_WORDS.get(token)
        if digits is None and runs[-1] and token in ("hundred", "thousand"):
            digits = "00" if token == "hundred" else "000"
        if digits is None:
            runs.append([])
            times = 1
            continue
        runs[-1].append((token, digits[0] * times + digits[1:]))
        times = 1
    kept = [run for run in runs if run and not (len(run) <= 2 and all(word in ("one", "oh") for word, _ in run))]
    return "".join(d for run in kept for _, d in run)


_NUMBER_IS = re.compile(r"\b(?:number|phone|mobile)\s*(?:is|'s)\b", re.IGNORECASE)


def number_said(text: str) -> str:
    """The digits of the number a caller gives in answer to "what's your number?": those after "(my) number is"
    when they make a whole number, else every digit said. A word before them that a recogniser
    made a digit ("my number is" heard as "nine number is") is not part of the number."""
    marks = list(_NUMBER_IS.finditer(text))
    if marks:
        after = spoken_digits(text[marks[-1].end():])
        if MIN_PHONE <= len(after) <= MAX_PHONE:
            return after
    return spoken_digits(text)


def read_back_digits(digits: str) -> str:
    """'5550107788' -> '5 5 5, 0 1 0, 7 7 8 8': groups of three, ending in one or two groups of four."""
    n = len(digits)
    fours = n % 3 if n >= 7 or n % 3 == 1 else 0  # 7: 3+4, 8: 4+4, 10: 3+3+4, 11: 3+4+4; 4: one group
    head = n - 4 * fours
    groups = [digits[i:i + 3] for i in range(0, head, 3)] + [digits[i:i + 4] for i in range(head, n, 4)]
    return ", ".join(" ".join(g) for g in groups if g)


def correct_number(old: str, text: str) -> str | None:
    """The number after a correction: 7 or more digits replace it all; fewer replace its tail of the same length
    (its head when the caller says "the first three are ..."). None when the text has no usable digits."""
    lower = lowered(text)
    head = bool(_HEAD.search(lower))
    digits = spoken_digits(_POSITION.sub(" ", lower))
    if not digits:
        return None
    if len(digits) >= MIN_PHONE:
        return digits if len(digits) <= MAX_PHONE else None
    if len(digits) >= len(old):
        return None
    return digits + old[len(digits):] if head else old[:len(old) - len(digits)] + digits
