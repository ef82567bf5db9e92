"""What the request that starts a form already says: whom a message is for, and what the problem is.

Pure functions of the words (no I/O, no model), used by `intake.FormRunner` when a form starts:
- "a message for Stella", "a note to the manager" name the recipient (the first name field not keyed "name");
- a clause of the request that is a statement fills the first text field keyed problem, message, reason, issue,
  details or description: not a question or a request to the business, not a greeting or an introduction, no phone
  number, with two content words at least one of which is not the form's own words. "My water heater is leaking,
  can someone come and fix it?" gives the problem "My water heater is leaking".
"""

from __future__ import annotations

import re

from sip_config.schema import FormField, FormSettings

from . import fields
from .fields import parse

REQUEST_KEYS = ("problem", "message", "reason", "issue", "details", "description")
# A clause that asks rather than states (or asks the bot to wait); an introduction ("this is Alice Martin") before
# the statement.
_ASKING = re.compile(
    r"^(?:(?:hi|hello|hey|yes|yeah|oh|um|uh|well|so|and|but|please|right|okay|ok)[\s,]+)*"
    r"(?:(?:can|could|would|will|do|does|is|are)\s+(?:you|someone|somebody|anyone|anybody|one of you|i|we|there)\b"
    r"|i'd|i would|i want|i wanna|i need|we'd|we need|we want|i'm (?:calling|ringing|phoning)|i was wondering"
    r"|is it possible|how|what|when|where|who|why|thanks|thank you|good (?:morning|afternoon|evening)"
    r"|let me|hang on|hold on|(?:just )?(?:a|one) (?:sec|second|minute|moment)\b"
    r"|(?:hi|hello|hey)\b)", re.IGNORECASE)
_INTRODUCTION = re.compile(r"^(?i:(?:hi |hello )?(?:this is|my name is|my name's|i'm|i am|it's))\s+"
                           r"([A-Z][a-z'\-]+(?:\s+[A-Z][a-z'\-]+)*)(?:\s+here)?(?:[\s,]+and\b)?")


def request_field(form: FormSettings) -> FormField | None:
    """The text field a request's problem fills (keyed problem, message, reason, ...), if the form has one."""
    return next((item for item in form.fields if item.type == "text" and item.key.lower() in REQUEST_KEYS), None)


_RECIPIENT = re.compile(r"\b(?:message|note)\s+(?:for|to)\s+(.+?)(?=[,.?!]|\s+(?:please|that|saying|about|to say|"
                        r"when|if|and|because|from)\b|$)", re.IGNORECASE)


def recipient_from_request(request: str) -> str:
    """Whom "a message for ..." is for, as a name ('' when the request does not say)."""
    match = _RECIPIENT.search(request)
    parsed = parse("name", match.group(1)) if match is not None else None
    return parsed.value if parsed is not None else ""


def _stems(text: str) -> set[str]:
    return {w[:4] for w in re.findall(r"[a-z]+", text.lower())}


def problem_from_request(request: str, form: FormSettings) -> str:
    """The statements of the request that say what it is about ('' when it only asks): see the module's rules."""
    own = _stems(" ".join((form.name, form.description, *form.examples)))
    kept = []
    for clause in re.split(r"[.?!;]+|,\s*|\s+(?:and|but|so)\s+(?=(?:can|could|would|will|please|i'd|i need)\b)",
                           request):
        clause = clause.strip()
        intro = _INTRODUCTION.match(clause)
        if intro is not None and fields.looks_like_name(intro.group(1).split()):
            clause = clause[intro.end():].strip(" ,")
        words = re.findall(r"[\w'\-]+", clause)
        meaning = fields.content_words(words)
        if (not clause or _ASKING.match(clause) or len(re.sub(r"\D", "", clause)) >= fields.MIN_PHONE
                or len(meaning) < 2 or not [w for w in meaning if w.lower()[:4] not in own]):
            continue
        kept.append(clause)
    said = ", ".join(kept)
    return said[:1].upper() + said[1:]
