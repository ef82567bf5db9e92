"""The doubt part of `employai eval hearing`: the configured Whisper's own threshold for a guess (`stt.unsure_logprob`).

Below it, a turn's mean log-probability per token says the recogniser is guessing, and the bot asks the caller to
say it again rather than answer what it misheard (speech/stt.py `Transcript.unsure`). Each model scores its words
its own way, so a threshold measured on one may ask again too often, or too seldom, with another (tiny.en: -0.5,
Whisper base: -0.45). Measured on the business sentences heard with the business prompt: the threshold is the highest
(in steps of 0.05) below which no more than `RIGHT_BELOW` of the transcripts with every word right fall. Printed
with how many transcripts with 30 % or more of their words wrong fall below it: the guesses it catches. A
measurement, not a test.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

from employai.harness.wer import wer

RIGHT_BELOW = 0.025  # the share of wholly right turns the bot may ask again for
WRONG = 0.3  # a transcript with this share of its words wrong is a guess worth asking again for
STEP = 0.05
FLOOR = -5.0  # the lowest `stt.unsure_logprob` the config takes


class HeardClip(Protocol):
    @property
    def reference(self) -> str: ...

    @property
    def text(self) -> str: ...

    @property
    def logprob(self) -> float: ...


def threshold(right: Sequence[float], step: float = STEP, right_below: float = RIGHT_BELOW) -> float:
    """The highest multiple of `step` (at most 0, at least FLOOR) below which no more than `right_below` of `right`
    fall."""
    if not right:
        return 0.0
    allowed = math.floor(right_below * len(right))
    candidate = 0.0
    while sum(lp < candidate for lp in right) > allowed and candidate > FLOOR:
        candidate = round(candidate - step, 2)
    return max(candidate, FLOOR)


def calibrate(heard: Sequence[HeardClip]) -> tuple[float, int, int, int, int]:
    """(threshold, right turns below it, right turns, wrong turns below it, wrong turns)."""
    scored = [(wer([h.reference], [h.text]), h.logprob) for h in heard if h.logprob < 0]
    right = [lp for error, lp in scored if error == 0]
    wrong = [lp for error, lp in scored if error >= WRONG]
    limit = threshold(right)
    return limit, sum(lp < limit for lp in right), len(right), sum(lp < limit for lp in wrong), len(wrong)


def print_doubt(heard: Sequence[HeardClip], configured: float) -> None:
    limit, right_below, right, wrong_below, wrong = calibrate(heard)
    print(f"\nDoubt threshold for this Whisper (stt.unsure_logprob; configured {configured}): {limit:.2f}, "
          f"measured on {len(heard)} business sentences heard with the business prompt.")
    print(f"  below it: {right_below} of {right} heard with every word right (asked again needlessly), "
          f"{wrong_below} of {wrong} heard with {WRONG:.0%} or more wrong (guesses caught)")
