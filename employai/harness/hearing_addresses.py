"""The addresses part of `employai eval hearing`: answers to "what's the address?" over G.711, transcribed as that
turn is, with the business's prompt and with the street-names prompt (speech/stt.py `ADDRESS_PROMPT`). An address
is heard right when its house number and every word of it are, written in figures or words ("14" / "Fourteen"),
spaced or joined ("Riverside" / "River side"; so "Flat 380" counts for "Flat three, eighty"). Also printed: how many
addresses heard right with the business's prompt are heard wrong with the street-names prompt. A measurement, not a
test. Single-threaded.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from employai.harness.hearing_numbers import hear_answers
from sip_config import Config
from speech.stt import ADDRESS_PROMPT, WhisperTranscriber

# What callers say when asked for the address of a visit; written for this eval, in street names mostly of no
# prompt (some share a word with it, as callers' streets do).
ADDRESS_SENTENCES = (
    "Fourteen Elm Grove, Springfield.", "Two Mill Lane, Riverside.", "Nine Station Road, Oakley.",
    "Thirty two Hawthorn Avenue.", "It's seven Birch Close, Westbury.", "Twenty one Kingsley Road.",
    "Flat three, eighty Baker Street.", "Five Willow Crescent, please.", "A hundred and four Queen Street.",
    "Eleven Chestnut Drive, Hillside.", "Forty Harbour View.", "Sixty six Long Lane.", "Three Primrose Hill.",
    "Nineteen Cherry Tree Walk.", "It's twenty eight Fairfield Road, Ashford.",
)
_UNITS = dict(zip("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
                  "sixteen seventeen eighteen nineteen".split(), range(20), strict=True))
_TENS = dict(zip("twenty thirty forty fifty sixty seventy eighty ninety".split(), range(20, 100, 10), strict=True))
_FILLER = frozenset("it s its please a and th st nd rd".split())


def address_words(text: str) -> str:
    """The address as its numbers and words, run together: "It's twenty-eight Fairfield Road" -> "28fairfieldroad"."""
    out: list[str] = []
    number: int | None = None
    for w in re.findall(r"[a-z]+|\d+", text.lower().replace("-", " ")):
        if w in _FILLER:
            continue
        value = int(w) if w.isdigit() else _UNITS.get(w, _TENS.get(w, 100 if w == "hundred" else None))
        if value is None:
            if number is not None:
                out.append(str(number))
                number = None
            out.append(w)
        elif number is None:
            number = value
        elif value == 100:
            number *= 100
        elif number >= 100 or number % 10 == 0 and number >= 20 and value < 10:
            number += value  # "a hundred and four", "thirty two"
        else:
            out.append(str(number))
            number = value
    if number is not None:
        out.append(str(number))
    return "".join(out)


def heard_right(said: str, heard: str) -> bool:
    return address_words(heard) == address_words(said)


def hear_addresses(config: Config, ears: dict[str, WhisperTranscriber], voices: Sequence[str], laws: Sequence[str],
                   audio_dir: Path) -> None:
    """Print, per prompt, how many addresses were heard right, and the time."""
    results = hear_answers(ears, [(text, text) for text in ADDRESS_SENTENCES], voices, laws, audio_dir,
                           ("address prompt", "address"), heard_right,
                           ("Answers to 'what's the address?'", "number and words right"))
    first, second = (ok for ok, _ in results["business prompt"]), (ok for ok, _ in results["address prompt"])
    lost = sum(a and not b for a, b in zip(first, second, strict=True))
    print(f"  heard right with the business prompt, wrong with the address prompt: {lost}")


__all__ = ["ADDRESS_PROMPT", "ADDRESS_SENTENCES", "address_words", "hear_addresses", "heard_right"]
