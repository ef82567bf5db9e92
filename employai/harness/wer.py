"""Word error rate with the normalisation speech benchmarks use: case, punctuation and numbers as words."""

from __future__ import annotations

import re

_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen " \
        "seventeen eighteen nineteen".split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SPELLING = {"mr": "mister", "mrs": "missus", "dr": "doctor", "oh": "zero", "ok": "okay"}


def _number_words(n: int) -> list[str]:
    if n < 20:
        return [_ONES[n]]
    if n < 100:
        return [_TENS[n // 10]] + ([_ONES[n % 10]] if n % 10 else [])
    if n < 1000:
        return [_ONES[n // 100], "hundred"] + (_number_words(n % 100) if n % 100 else [])
    if 1100 <= n < 2000 or 2010 <= n < 10000 and n % 100:  # years and such: "fourteen fifty five"
        return _number_words(n // 100) + (_number_words(n % 100) if n % 100 else ["hundred"])
    return _number_words(n // 1000) + ["thousand"] + (_number_words(n % 1000) if n % 1000 else [])


def _spell_money_and_percent(text: str) -> str:
    """Whisper writes "eighty dollars" as "$80" and "ten percent" as "10%"; put the words back."""
    text = re.sub(r"\$(\d+)(?:\.(\d\d))?",
                  lambda m: f"{m[1]} dollars" + (f" {int(m[2])} cents" if m[2] and int(m[2]) else ""), text)
    return re.sub(r"(\d+)\s?%", r"\1 percent", text)


def normalise(text: str) -> list[str]:
    text = _spell_money_and_percent(text.lower().replace(",", "")).replace("-", " ")
    words: list[str] = []
    for token in re.findall(r"[a-z']+|\d+", text):
        if token.isdigit():
            if len(token) > 4 or token.startswith("0"):
                words.extend(_ONES[int(d)] for d in token)
            else:
                words.extend(_number_words(int(token)))
        else:
            token = token.strip("'")
            if token:
                words.extend(_SPELLING.get(token, token).split())
    return words


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


def wer(references: list[str], hypotheses: list[str]) -> float:
    """Corpus WER: total edits over total reference words."""
    errors = words = 0
    for ref, hyp in zip(references, hypotheses, strict=True):
        r = normalise(ref)
        errors += edit_distance(r, normalise(hyp))
        words += len(r)
    return errors / words if words else 0.0
