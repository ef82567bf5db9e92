"""The numbers part of `employai eval hearing`: spoken phone numbers and references over G.711, transcribed as a
turn after "what's the best number to reach you on?" is, with the business's prompt and with the digits prompt
(speech/stt.py `DIGITS_PROMPT`). Scored by the bot's own parser (`brain.fields.spoken_digits`): a number is heard
right only when every digit is there, in order. A measurement, not a test. Single-threaded.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from brain.fields import spoken_digits
from sip_config import Config
from speech.pcm import RATE
from speech.stt import DIGITS_PROMPT, WhisperTranscriber

# What callers say when asked for a number; written for this eval (none is a number of the digits prompt).
NUMBER_SENTENCES = (
    ("five five five, zero one zero, seven seven eight eight", "5550107788"),
    ("It's two four seven, zero one zero, three four five six.", "2470103456"),
    ("My number is five five five, zero one four, six six two zero.", "5550146620"),
    ("Five five five, oh one two, eight eight one zero.", "5550128810"),
    ("Zero seven seven zero zero, nine eight three four one one.", "07700983411"),
    ("Three three one, four four zero, nine nine two two.", "3314409922"),
    ("No, it's five five five, zero one seven, two six nine nine.", "5550172699"),
    ("Eight zero zero, five five five, one two one two.", "8005551212"),
    ("Yes, it's four one five, three three three, zero zero four four.", "4153330044"),
    ("You can reach me on six one seven, two two two, eight eight eight one.", "6172228881"),
    ("Nine one two, three oh oh, four four five five.", "9123004455"),
    ("The reference is four four seven one.", "4471"),
    ("It's seven zero six, five five one, double three nine two.", "7065513392"),
    ("Call me back on oh two oh, seven nine four six, one one five eight.", "02079461158"),
)


def hear_numbers(config: Config, ears: dict[str, WhisperTranscriber], voices: Sequence[str], laws: Sequence[str],
                 audio_dir: Path) -> None:
    """Print, per prompt, how many spoken numbers were heard with every digit right, and the transcription time."""
    hear_answers(ears, NUMBER_SENTENCES, voices, laws, audio_dir, ("digits prompt", "digits"),
                 lambda digits, heard: spoken_digits(heard) == digits, ("Spoken numbers", "every digit right"))


def hear_answers(ears: dict[str, WhisperTranscriber], items: Sequence[tuple[str, str]], voices: Sequence[str],
                 laws: Sequence[str], audio_dir: Path, special: tuple[str, str], right: Callable[[str, str], bool],
                 title: tuple[str, str]) -> dict[str, list[tuple[bool, float]]]:
    """Each (sentence, what is right) spoken by each voice over each law, heard by each ear (`special`: the ear's
    name and the expectation it is given), judged by `right`; printed under `title` (what, judged how)."""
    from employai.harness.eval_hearing import flite, telephone

    clips = [(telephone(flite(text, voice, audio_dir), law).tobytes(), truth)
             for voice in voices for law in laws for text, truth in items]
    results = compare(ears, clips, *special, right)
    report(f"{title[0]} ({len(items)} sentences x voices {', '.join(voices)} x {', '.join(laws)}): {title[1]}",
           results)
    return results


def compare(ears: dict[str, WhisperTranscriber], clips: Sequence[tuple[bytes, str]], special: str, expect: str,
            right: Callable[[str, str], bool]) -> dict[str, list[tuple[bool, float]]]:
    """Each clip (audio, what is right) transcribed by each ear, alternately so all meet the same machine load; the
    ear named `special` with expectation `expect`. Per ear: (heard right, seconds) a clip."""
    for ear in ears.values():
        ear.transcribe(bytes(RATE * 2))  # warm up
    results: dict[str, list[tuple[bool, float]]] = {name: [] for name in ears}
    for pcm, truth in clips:
        for name, ear in ears.items():
            started = time.perf_counter()
            heard = ear.transcribe(pcm, expect if name == special else "").text
            results[name].append((right(truth, heard), time.perf_counter() - started))
    return results


def report(title: str, results: dict[str, list[tuple[bool, float]]]) -> None:
    from employai.harness.eval_hearing import _percentile

    print(f"\n{title}")
    for name, rows in results.items():
        right = sum(ok for ok, _ in rows)
        times = [s * 1000 for _, s in rows]
        print(f"  {name:<18} {right:>3}/{len(rows)} ({right / len(rows):.0%})   "
              f"p50 {_percentile(times, 0.5):.0f} ms, p95 {_percentile(times, 0.95):.0f} ms")

__all__ = ["DIGITS_PROMPT", "NUMBER_SENTENCES", "hear_numbers"]
