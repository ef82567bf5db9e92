"""The words of a form dialogue (brain/intake.py): which words name a part, which are noise around a value, and
how a caller cancels, corrects or names a recipient. Pure; no state.
"""

from __future__ import annotations

import re

from memory.extractor import DIGIT_WORDS, NUMBER_WORDS
from sip_config.schema import FormField

# Words that name a part of a form by its type ("the address", "the time", "the number").
TYPE_WORDS = {"name": {"name", "who", "person"}, "phone": {"number", "phone", "digits"},
              "address": {"address", "street", "house", "postcode", "where"},
              "datetime": {"time", "day", "date", "when"},
              "text": {"problem", "message", "issue", "details", "description", "reason"}, "yesno": set()}
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


def remainder(text: str, item: FormField) -> str:
    """What follows the words naming the part: "no, the address is 14 The Green" -> "14 The Green"."""
    named = {w for w in re.findall(r"[a-z]+", item.key.lower())} | TYPE_WORDS[item.type]
    tokens = text.split()
    while tokens and (tokens[0].lower().strip(".,!?;:").removesuffix("'s") in NOISE | named):
        tokens = tokens[1:]
    return " ".join(tokens)
