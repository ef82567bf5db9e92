"""What a call's turn policy keeps from turn to turn (employai/runtime/turn_policy.py): one value, copied whole
for a checkpoint, so a reply prepared and dropped unheard can be undone. Event loop only, like the policy."""

from __future__ import annotations

import re
from dataclasses import dataclass

from brain.intake import FormRunner
from memory.extractor import Fact
from sip_config.schema import DirectoryEntry, FormSettings

# "Okay, thanks" after an offer thanks for it rather than takes it (unless the caller says yes or please too).
ACKNOWLEDGED = re.compile(r"^\W*(?:ok(?:ay)?|right|alright|all right|fine)\W+(?:thanks|thank you|cheers)\b",
                          re.IGNORECASE)
TAKEN = re.compile(r"\b(?:yes|yeah|yep|please|go ahead|sure)\b", re.IGNORECASE)


@dataclass
class TurnState:
    """Everything a turn may change, so a reply dropped unheard can be undone."""
    form: FormRunner | None = None
    form_name: str = ""
    confirm_entry: DirectoryEntry | None = None
    who_asked: bool = False  # the bot has just said whom it can put callers through to: a bare name is a request
    offer: tuple[FormSettings, str, dict[str, str]] | None = None  # a form offered: (form, request, prefill)
    numbers: tuple[list[Fact], str] | None = None  # facts read back for a yes, and what the caller had asked
    last_reply: str = ""
    fact_asked: str = ""  # the caller's question a fact answered last turn ("and a filling?" follows it)
    forget_pending: bool = False
    asked_again: bool = False  # the bot has just asked the caller to say it again (once: then it answers as heard)
