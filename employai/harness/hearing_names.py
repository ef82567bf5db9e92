"""The names part of `employai eval hearing`: callers' answers to "can I have your name?" over G.711, transcribed as
that turn is, with the business's prompt and with the people's-names prompt (speech/stt.py `NAME_PROMPT`). A name
is heard right when every word of it is a word heard, whatever the case and punctuation ("O'Brien" / "OBrien").
None of the names said shares a word with the prompt: what is measured is a name heard as a name, not a name
looked up. Also printed: how many names heard right with the business's prompt are heard wrong with the names
prompt. A measurement, not a test. Single-threaded.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from employai.harness.hearing_numbers import hear_answers
from sip_config import Config
from speech.stt import NAME_PROMPT, WhisperTranscriber

# Callers' names from many places, none of them the prompt's; the first three are the conversation eval's callers.
CALLER_NAMES = (
    "Aisha Khan", "Oliver Grant", "Grace Miller", "Fatima Hussain", "Mohammed Ahmed", "Chen Wei", "Sofia Rossi",
    "Liam O'Brien", "Olga Petrova", "Kwame Mensah", "Priya Patel", "Diego Hernandez", "Hannah Schmidt",
    "Yusuf Demir", "Emily Clarke", "Raj Sharma", "Nadia Ivanova", "Tom Baker", "Sarah Jones", "Ahmed Malik",
    "Chloe Martin", "Daniel Kim", "Amara Okeke", "Lucy Evans", "Jack Wilson",
)
_SAID = ("My name is {}.", "It's {}.", "{}.")  # as callers answer: in a sentence, or the name alone


def _words(text: str) -> list[str]:
    return [re.sub(r"[^a-z]", "", w) for w in text.lower().split()]


def heard_right(name: str, heard: str) -> bool:
    """Every word of the name is a word heard, whatever the case and punctuation ("Kim" is not "Kimberly")."""
    return set(_words(name)) <= set(_words(heard))


def hear_names(config: Config, ears: dict[str, WhisperTranscriber], voices: Sequence[str], laws: Sequence[str],
               audio_dir: Path) -> None:
    """Print, per prompt, how many names were heard right, and the time."""
    items = [(_SAID[i % len(_SAID)].format(name), name) for i, name in enumerate(CALLER_NAMES)]
    results = hear_answers(ears, items, voices, laws, audio_dir, ("names prompt", "name"), heard_right,
                           ("Answers to 'can I have your name?'", "every word of the name right"))
    first, second = (ok for ok, _ in results["business prompt"]), (ok for ok, _ in results["names prompt"])
    lost = sum(a and not b for a, b in zip(first, second, strict=True))
    print(f"  heard right with the business prompt, wrong with the names prompt: {lost}")


__all__ = ["CALLER_NAMES", "NAME_PROMPT", "hear_names", "heard_right"]
