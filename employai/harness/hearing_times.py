"""The times part of `employai eval hearing`: answers to "when would suit you?" over G.711, transcribed as that turn
is, with the business's prompt and with the days-and-times prompt (speech/stt.py `WHEN_PROMPT`). An answer is heard
right when the intake form's own parser (`brain.fields.parse`, type datetime) takes it and it names the same days,
parts of the day and hours as what was said. A measurement, not a test. Single-threaded.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from brain.fields import normalise_numbers, parse
from employai.harness.hearing_numbers import hear_answers
from sip_config import Config
from speech.stt import WHEN_PROMPT, WhisperTranscriber

# What callers say when asked when a visit would suit; written for this eval (none is a sentence of the prompt).
TIME_SENTENCES = (
    "Next Tuesday, please.", "Any time on Thursday afternoon.", "Monday morning, around nine.",
    "Tomorrow after lunch would be good.", "Wednesday at two o'clock.", "Sometime next week, in the morning.",
    "This Saturday if you can.", "Friday at half past three.", "Later today, after four.", "First thing on Monday.",
    "The day after tomorrow, in the evening.", "Thursday around eleven.", "Tuesday afternoon suits me.",
    "Any weekday morning.", "Next Friday at noon.",
)
_WHEN_WORDS = frozenset("monday tuesday wednesday thursday friday saturday sunday morning afternoon evening noon lunch "
                        "tomorrow today next week weekday first after half past around".split())
_HOURS = dict(zip("one two three four five six seven eight nine ten eleven twelve".split(),
                  map(str, range(1, 13)), strict=True))


def when_words(text: str) -> set[str]:
    """The days, parts of the day and hours a text names ("Friday at half past 3" -> friday, half, past, 3)."""
    words = re.findall(r"[a-z]+|\d+", normalise_numbers(text.lower()).replace("1st", "first"))
    return {_HOURS.get(w, w) for w in words if w in _WHEN_WORDS or w in _HOURS or w.isdigit()}


def heard_right(said: str, heard: str) -> bool:
    return parse("datetime", heard) is not None and when_words(heard) == when_words(said)


def hear_times(config: Config, ears: dict[str, WhisperTranscriber], voices: Sequence[str], laws: Sequence[str],
               audio_dir: Path) -> None:
    """Print, per prompt, how many answers to "when?" were heard with their days and times right, and the time."""
    hear_answers(ears, [(text, text) for text in TIME_SENTENCES], voices, laws, audio_dir, ("when prompt", "when"),
                 heard_right, ("Answers to 'when would suit you?'", "days and times right"))

__all__ = ["TIME_SENTENCES", "WHEN_PROMPT", "hear_times", "heard_right", "when_words"]
