"""A rough sound key for English words, for matching what a recogniser heard over a telephone line.

G.711 carries 300-3400 Hz: most of the energy of /s/, /z/, /f/, /v/, /th/ and /h/ is above it, and /sh/, /ch/,
/j/ lose their edges, so Whisper on an 8 kHz call hears "sales" as "mail", "jail", "failed" or "cells", and
"booking" as "walking". The key keeps what survives the line: stops with voicing folded (P for b/p/w, T for d/t,
K for g/k), nasals (M, N), liquids (L, R), three coarse vowels (A, I, O), and a weak "F" for every fricative,
sibilant, affricate or h, whatever it was. Keys are compared by a weighted edit distance in which an "F" is cheap
to lose or to hear as another consonant, and vowels are cheap to confuse. Pure functions, no state.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .meaning import edit_distance

# Spelling to sound, in order (on the lower-case word): silent letters, digraphs, soft c and g, endings.
_RULES = (
    (re.compile(r"^kn|^gn|^pn"), "n"), (re.compile(r"^wr"), "r"), (re.compile(r"^ps"), "s"), (re.compile(r"^x"), "z"),
    (re.compile(r"(?<=[aeiou])h"), ""), (re.compile(r"mb$"), "m"), (re.compile(r"t?ch"), "tj"),
    (re.compile(r"[st]h"), "h"), (re.compile(r"ck"), "k"),
    (re.compile(r"ph"), "f"), (re.compile(r"gh"), ""), (re.compile(r"qu"), "kw"), (re.compile(r"wh"), "w"),
    (re.compile(r"dg"), "j"), (re.compile(r"ti(?=o|a)"), "sh"), (re.compile(r"c(?=[eiy])"), "s"),
    (re.compile(r"g(?=[eiy])"), "j"), (re.compile(r"x"), "ks"), (re.compile(r"ng"), "n"),
    (re.compile(r"(?<=[^aeiou])es$"), "s"), (re.compile(r"(?<=[^aeiou])ed$"), "d"),
    (re.compile(r"(?<=[^aeiou])e$"), ""),  # silent final e: sale, Stone
    (re.compile(r"a[iy]|e[iy]"), "A"), (re.compile(r"ee|ea|ie"), "I"), (re.compile(r"o[aouw]|ue|ew"), "O"),
)
_CLASS = {"b": "P", "p": "P", "w": "P", "d": "T", "t": "T", "g": "K", "k": "K", "c": "K", "q": "K",
          "m": "M", "n": "N", "l": "L", "r": "R", "s": "F", "z": "F", "f": "F", "v": "F", "j": "F", "h": "F",
          "a": "A", "e": "I", "i": "I", "y": "I", "o": "O", "u": "O", "A": "A", "I": "I", "O": "O"}
_VOWEL = frozenset("AIO")
_NEAR = {frozenset("MN"), frozenset("LR")}  # nasals, liquids: stops keep their place in the formants


@lru_cache(maxsize=8192)
def sound_key(word: str) -> str:
    """The key of one word, e.g. sales -> "FALF", mail -> "MAL", jail -> "FAL", booking -> "POKIN"."""
    spelled = re.sub(r"[^a-z]", "", word.lower())
    for pattern, replacement in _RULES:
        spelled = pattern.sub(replacement, spelled)
    key: list[str] = []
    for letter in spelled:
        sound = _CLASS.get(letter, "")
        if sound and (not key or key[-1] != sound):
            key.append(sound)
    return "".join(key)


def _lost_cost(meant: str) -> float:
    """A sound said but not heard: a fricative is easily lost on the line."""
    return 0.5 if meant in _VOWEL else 0.25 if meant == "F" else 1.0


def _extra_cost(heard: str) -> float:
    """A sound heard but not said: a recogniser adds a vowel or an "s" more easily than a consonant."""
    return 0.5 if heard in _VOWEL or heard == "F" else 1.0


def _substitute_cost(heard: str, meant: str) -> float:
    if heard == meant:
        return 0.0
    if heard in _VOWEL and meant in _VOWEL:
        return 0.5
    if (heard in _VOWEL) != (meant in _VOWEL):
        return 1.5  # never cheaper than losing one and adding the other
    if meant == "F":
        return 0.5  # a fricative the line lost, heard as another consonant ("sales" -> "mail")
    if heard == "F":
        return 1.0  # the line does not make up a fricative where there was none
    return 0.5 if frozenset((heard, meant)) in _NEAR else 1.0


@lru_cache(maxsize=65536)
def _key_distance(a: str, b: str) -> float:
    """The cost of hearing key `a` when key `b` was said."""
    previous = [0.0]
    for sound in b:
        previous.append(previous[-1] + _lost_cost(sound))
    for sa in a:
        current = [previous[0] + _extra_cost(sa)]
        for j, sb in enumerate(b, 1):
            current.append(min(previous[j] + _extra_cost(sa), current[j - 1] + _lost_cost(sb),
                               previous[j - 1] + _substitute_cost(sa, sb)))
        previous = current
    return previous[-1]


def sound_similarity(heard: str, meant: str) -> float:
    """1.0 for words with the same key, less by the weighted edit distance between the keys (0 at worst): how
    likely a recogniser wrote `heard` when `meant` was said on the line."""
    ka, kb = sound_key(heard), sound_key(meant)
    if not ka or not kb:
        return 0.0
    return max(0.0, 1.0 - _key_distance(ka, kb) / max(len(ka), len(kb)))


def spelling_similarity(a: str, b: str) -> float:
    """1.0 for the same spelling, less by edit distance relative to the longer word."""
    if not a or not b:
        return 0.0
    return 1.0 - edit_distance(a.lower(), b.lower()) / max(len(a), len(b))


def heard_alike(a: str, b: str, min_similarity: float = 0.8) -> bool:
    """Whether a recogniser may have written one word for the other: keys of 4 sounds or more that start alike
    and differ by little, and spellings not far apart either (walking/booking, not swelling/boiler)."""
    ka, kb = sound_key(a), sound_key(b)
    if min(len(ka), len(kb)) < 4 or ka[0] != kb[0]:
        return False
    return sound_similarity(a, b) >= min_similarity and spelling_similarity(a, b) > 0.55
