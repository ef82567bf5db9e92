"""Pick the profile fact that answers what the caller said, by keyword overlap (pure, no model).

A small model often fails to use a fact buried in its instructions; leading the reply with the matching
fact keeps the bundled 135M model useful, and a stronger model simply continues from it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an and are as at be but by can could do does for from have how i if in is it its me my of on or our "
    "please so that the their them then there this to us was we what when where which who why will with "
    "would you your yours hi hello hey thanks thank much many any some".split()
)
# Words a caller uses for the same idea as the fact's words.
_SYNONYMS = {"hour": "open", "close": "open", "price": "cost", "charge": "cost", "fee": "cost",
             "pay": "cost", "expensive": "cost", "repair": "fix", "mend": "fix"}


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return _SYNONYMS.get(word, word)


def keywords(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP}


def best_fact(question: str, facts: Sequence[str], min_overlap: int = 1) -> str | None:
    """The fact sharing the most keywords with the question, if any shares at least `min_overlap`."""
    asked = keywords(question)
    best, best_score = None, 0
    for fact in facts:
        score = len(asked & keywords(fact))
        if score > best_score:
            best, best_score = fact, score
    return best if best_score >= min_overlap else None
