"""The words of a form dialogue (brain/intake.py): which words name a part, which are noise around a value, and
how a caller cancels, corrects or names a recipient; the keypad lines for a misheard number. Pure; no state.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from memory.extractor import DIGIT_WORDS, NUMBER_WORDS
from sip_config.schema import FormField, FormSettings

from .fields import content_words
from .spoken_numbers import spoken_digits

# Words that name a part of a form by its type ("the address", "the time", "the number").
TYPE_WORDS = {"name": {"name", "who", "person"}, "phone": {"number", "phone", "digits"},
              "address": {"address", "street", "house", "postcode", "where"},
              "datetime": {"time", "day", "date", "when"},
              "text": {"problem", "message", "issue", "details", "description", "reason"}, "yesno": set()}
# What a caller's answer to a part of each type is, for the transcriber (speech.stt.EXPECTATIONS).
EXPECTS = {"phone": "digits", "datetime": "when", "address": "address", "name": "name"}
# Words around digits said alone ("it ends in 8352").
NUMBER_TALK = set(DIGIT_WORDS) | {"double", "triple", "end", "ends", "ending", "with", "in", "last", "first",
                                  "start", "starts", "starting", "begins", "digit", "digits", "number"}
# An answer that takes back something said before rather than answer the question.
CORRECTING = re.compile(r"^\W*(?:no|nope|sorry)\b", re.IGNORECASE)
# How an address itself starts: a house number (in figures or words) or a flat.
ADDRESS_START = re.compile(rf"^\W*(?:\d|(?:{'|'.join(w for w in NUMBER_WORDS if w not in ('zero', 'hundred'))}|"
                           r"a hundred|flat|apartment|unit)\b)", re.IGNORECASE)
TO_SOMEONE = re.compile(r"\b(?:for|to)\b", re.IGNORECASE)  # "no, it's for ...": whom, not "it's about billing"
# Words around a corrected value that are not part of it ("no, it's ...", "sorry, I meant ...").
NOISE = {"no", "nope", "yes", "yeah", "but", "the", "a", "my", "your", "it", "it's", "its", "is", "was", "should",
         "be", "are", "were", "wrong", "incorrect", "not", "right", "correct", "change", "changed", "actually",
         "sorry", "oh", "um", "uh", "well", "and", "to", "that", "that's", "spelled", "spelt", "misspelled",
         "mistake", "please", "i", "said", "meant", "mean", "part", "bit", "one", "of", "so", "er", "ok", "okay"}
# Giving up on the form: "never mind", "forget it", "cancel that", at the start of a short answer.
CANCEL = re.compile(
    r"^(?:(?:oh|actually|um|uh|er|no|sorry|ok|okay|well|you know what|on second thoughts?)[\s,.]+)*"
    r"(?:never ?mind|forget (?:it|about it|that|the whole thing)|don't bother|i(?:'ve| have) changed my mind"
    r"|(?:cancel|stop|leave it)(?: (?:it|that|this|the (?:booking|form|message|visit|whole thing)))?"
    r"(?=[\s,.!?]*(?:$|please|then|thanks|thank you|i'll|i will|we'll|[,.!?])))", re.IGNORECASE)


def _part_words(item: FormField) -> set[str]:
    return {w for w in re.findall(r"[a-z]+", item.key.lower())} | TYPE_WORDS[item.type]


def named_as_part(text: str, item: FormField) -> int | None:
    """Where the caller names the part as a part ("the time", "my name", "the preferred time", "your address"),
    as a correction does; None when its words are only said ("this is my first time", "a long time ago")."""
    words = "|".join(sorted((re.escape(w) for w in _part_words(item)), key=len, reverse=True))
    match = re.search(rf"\b(?:the|my|your|that|our)\s+(?:(?:{words})\s+)*(?:{words})(?:'s)?\b", text,
                      re.IGNORECASE)
    return match.start() if match else None


def remainder(text: str, item: FormField) -> str:
    """What follows the words naming the part: "no, the address is 14 The Green" -> "14 The Green"."""
    named = _part_words(item)
    tokens = text.split()
    while tokens and (tokens[0].lower().strip(".,!?;:").removesuffix("'s") in NOISE | named):
        tokens = tokens[1:]
    return " ".join(tokens)


def named_field(parts: Sequence[FormField], text: str) -> int | None:
    """The part the caller names ("the address", "the time", "the number"); a number alone names the one phone
    part. None when no part, or more than one equally, is named."""
    words = {w.removesuffix("'s") for w in re.findall(r"[a-z']+", text.lower())}
    scores = []
    for item in parts:
        key_words = {w for w in re.findall(r"[a-z]+", item.key.lower()) if content_words([w])}
        scores.append(2 * len(key_words & words) + len(TYPE_WORDS[item.type] & words))
    best = max(scores, default=0)
    if best > 0 and scores.count(best) == 1:
        return scores.index(best)
    phones = [i for i, item in enumerate(parts) if item.type == "phone"]
    if best == 0 and len(phones) == 1 and spoken_digits(text) and not words - NUMBER_TALK - NOISE:
        return phones[0]  # digits, and only words about them: "no, it ends in 8352" (not "no, it's 14 Elm Grove")
    return None


# What a caller says of the line, not of their problem ("sorry, the line is really bad").
LINE_TROUBLE = re.compile(r"\b(?:(?:the|this) line is (?:really |very |a bit )?(?:bad|terrible|awful|poor|crackly|"
                          r"noisy)|bad line|(?:can't|cannot|can not|couldn't) hear you|hard to hear you|"
                          r"you're breaking up|bad signal|poor signal)\b", re.IGNORECASE)

# A number read back wrong: asked again with the keypad offered; wrong again (or heard the same again): the keypad.
KEYPAD_TOO = "Sorry about that. Could you tell me the {noun} again, or key it in on your keypad?"
KEYPAD_ONLY = ("Sorry, this line is making the digits hard to hear. Could you key the {noun} in on your keypad,"
               " then press hash?")


def number_noun(item: FormField) -> str:
    return item.key if "number" in item.key else f"{item.key} number"


def keypad_lines(form: FormSettings) -> list[str]:
    """What the form may say word for word when a number is misheard (synthesised at start)."""
    return [line.format(noun=number_noun(item)) for item in form.fields if item.type == "phone"
            for line in (KEYPAD_TOO, KEYPAD_ONLY)]


def join(items: list[str], last: str = "and") -> str:
    """"a, b and c"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {last} {items[-1]}"


def value_for(source: Mapping[str, str], key: str) -> str:
    """The value for a field: under its key, else under a shorter key made of its words ("for" for "for whom")."""
    if key in source:
        return source[key]
    words = set(key.lower().split())
    return next((v for k, v in source.items() if k.strip() and set(k.lower().split()) <= words), "")
