"""Deterministic extraction of the high-value facts a caller gives: name, reference numbers, callback number,
email, dates and times. It needs no model, so remembering works with the smallest LLM (pure functions)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_NAME = re.compile(
    r"\b(?:this is|my name is|my name's|i am|i'm|it's|call me)\s+"
    r"([A-Z][a-z'\-]+(?:\s+[A-Z][a-z'\-]+){0,2})", re.IGNORECASE)
_NOT_NAMES = {"calling", "looking", "trying", "here", "fine", "good", "sorry", "just", "not", "interested",
              "wondering", "having", "going", "a", "the", "very", "so", "really", "ok", "okay", "well", "back"}
_REFERENCE = re.compile(
    r"\b(order|account|reference|ticket|booking|case|invoice|policy|customer|membership)\s+"
    r"(number|no\.?|id|#|reference|code|ref)?\s*(?:number\s*)?(?:is|was|:)?\s*#?([A-Z0-9][A-Z0-9\-]{2,})\b",
    re.IGNORECASE)
_PHONE = re.compile(r"(?<![\w])(\+?\d[\d\s\-().]{6,}\d)(?![\w])")
_EMAIL = re.compile(r"\b[\w.+\-]+@[\w\-]+\.[\w.\-]+\b")
_WHEN = re.compile(
    r"\b((?:tomorrow|today|tonight|next\s+\w+|on\s+(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
    r"|(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday))"
    r"(?:\s+(?:at\s+)?\d{1,2}(?::\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.|o'clock)?)?"
    r"|at\s+\d{1,2}(?::\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.|o'clock)"
    r"|\d{1,2}(?::\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.))\b", re.IGNORECASE)


DIGIT_WORDS = {"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
                "six": "6", "seven": "7", "eight": "8", "nine": "9"}
DIGIT_WORD = "|".join(DIGIT_WORDS)
# Every word a number is said with, digits to hundreds: the one list (addresses, times and facts read with it).
NUMBER_WORDS = tuple("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
                     "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety "
                     "hundred".split())
_SPOKEN_DIGITS = re.compile(rf"\b(?:(?:{DIGIT_WORD})[\s,\-]+){{2,}}(?:{DIGIT_WORD})\b", re.IGNORECASE)
_SPACED_DIGITS = re.compile(r"\b\d(?:[ \-]\d){2,}\b")
_GROUPED_NUMBER = re.compile(r"\b\d{1,3}(?:,\d{3})+\b")


def normalise_numbers(text: str) -> str:
    """Numbers as a transcriber writes them ('4,471', '4 4 7 1', 'four four seven one') as plain digits."""
    text = _SPOKEN_DIGITS.sub(lambda m: "".join(DIGIT_WORDS[w.lower()] for w in re.findall(r"[a-z]+", m.group(0),
                                                                                            re.IGNORECASE)), text)
    text = _SPACED_DIGITS.sub(lambda m: re.sub(r"[ \-]", "", m.group(0)), text)
    return _GROUPED_NUMBER.sub(lambda m: m.group(0).replace(",", ""), text)


@dataclass(frozen=True)
class Fact:
    key: str  # "name", "order number", "callback number", "email", "mentioned time"
    value: str

    def line(self) -> str:
        return f"{self.key}: {self.value}"


def holds_number(fact: Fact) -> bool:
    """A fact whose value is a number a caller gave (a reference, a phone number), not a time they mentioned."""
    return fact.key != "mentioned time" and any(ch.isdigit() for ch in fact.value)


def extract_facts(text: str) -> list[Fact]:
    """Facts stated in one utterance of the caller's, in the order found, without duplicates."""
    text = normalise_numbers(text)
    facts: list[Fact] = []
    for match in _NAME.finditer(text):
        words = [w for w in match.group(1).split() if w[:1].isupper()]
        if words and words[0].lower() not in _NOT_NAMES:
            name = " ".join(w for w in words if w.lower() not in _NOT_NAMES)
            facts.append(Fact("name", name.title()))
            break
    for match in _REFERENCE.finditer(text):
        if any(ch.isdigit() for ch in match.group(3)):
            kind = {"reference": "reference", "ref": "reference", "code": "code"}.get((match.group(2) or "").lower(),
                                                                                     "number")
            key = "reference number" if match.group(1).lower() == "reference" else f"{match.group(1).lower()} {kind}"
            facts.append(Fact(key, match.group(3).upper()))
    for match in _PHONE.finditer(text):
        digits = re.sub(r"[^\d+]", "", match.group(1))
        if len(digits.lstrip("+")) >= 7 and not any(digits in f.value for f in facts):
            facts.append(Fact("callback number", digits))
    facts += [Fact("email", m.group(0).lower()) for m in _EMAIL.finditer(text)]
    facts += [Fact("mentioned time", m.group(1).strip()) for m in _WHEN.finditer(text)]
    unique: dict[tuple[str, str], Fact] = {}
    for fact in facts:
        unique.setdefault((fact.key, fact.value), fact)
    return list(unique.values())


def merge_facts(block_text: str, facts: list[Fact]) -> str:
    """The `human` block with these facts: a newer value of a key replaces the older line (times accumulate)."""
    lines = [line for line in block_text.splitlines() if line.strip()]
    for fact in facts:
        if fact.key != "mentioned time":
            lines = [line for line in lines if not line.startswith(f"{fact.key}: ")]
        if fact.line() not in lines:
            lines.append(fact.line())
    return "\n".join(lines)
