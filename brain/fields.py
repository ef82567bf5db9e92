"""Intake form fields by type: parse and check what a caller said, and how a value is read back to them.

Pure functions, no I/O: safe from any thread. `parse_yes_no` is the one place a yes or a no is understood; every
other module imports it from here. Spoken numbers go through `memory.extractor.normalise_numbers` and its table of
digit words (the reading memory and the PIN check use); phone numbers are read in `spoken_numbers`.

Types (sip_config.schema.FIELD_TYPES):
- name: fillers stripped ("my name is", "it's", "this is", "for"), 1-4 words, no digits, title-cased; a spelled
  word ("M-A-R-T-Y-N") replaces the word before it.
- phone: 7-15 digits from digits and digit words; read back digit by digit in groups ("5 5 5, 0 1 0, 7 7 8 8").
- address: free text with a number, a street word, or at least three words.
- datetime: the caller's words, plus the ISO time they mean when one is known ("tomorrow morning": 09:00).
- text: at least two words.  yesno: "yes" or "no".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from memory.extractor import normalise_numbers
from memory.followups import parse_when
from memory.stopwords import STOP_WORDS
from sip_config.schema import FIELD_TYPES

from .phonetic import heard_alike
from .spoken_numbers import MAX_PHONE, MIN_PHONE, correct_number, lowered, number_said, read_back_digits, spoken_digits

__all__ = ["FIELD_TYPES", "HONORIFICS", "Parsed", "content_words", "correct_number", "hint", "looks_like_name", "parse",
           "parse_yes_no", "read_back_digits", "readback", "second_person", "spoken_digits", "when_iso"]

@dataclass(frozen=True)
class Parsed:
    value: str  # what is stored under the field's key
    extra: Mapping[str, str] = field(default_factory=dict)  # stored as "<key> <name>", e.g. "preferred time iso"


# --- yes and no -------------------------------------------------------------------------------------------------

_FILLER = r"(?:(?:um+|uh+|er+|erm|oh|ah|hmm+|well|so|okay so|actually|sorry)[\s,.]+)*"
_YES = ("yes|yeah|yep|yup|yea|ya|aye|correct|right|sure|exactly|absolutely|definitely|certainly|of course|perfect|"
        "spot on|that's it|that's fine|that's right|that is right|that's correct|that is correct|fine|okay|ok|"
        "all right|alright|sounds good|sounds right|uh-huh|mm-hmm|affirmative|indeed|i think so|it is|all correct|"
        "all good|great|lovely|good|please do|go ahead|you got it|it's fine|it's all fine|it's right|it's correct|"
        "all fine")
_NO = ("no|nope|nah|not really|not quite|not exactly|not right|not correct|wrong|incorrect|negative|"
       "that's wrong|that is wrong|that's not|that is not|that isn't|it's not|it is not|it isn't|i don't think so|"
       "not at all")
_YES_RE = re.compile(rf"^{_FILLER}(?:(?:that's|that is|it's|it is|yes|yeah|everything's|everything is)\s+)?"
                     rf"(?:all\s+)?(?:{_YES})\b")
_NO_RE = re.compile(rf"^{_FILLER}(?:{_NO})\b")
# "No, that's right" confirms; "no, it's fine" turns an offer down (and is no clearer about a read-back).
_BRITISH_YES = re.compile(rf"^{_FILLER}no[\s,]+(?:that's|that is|it's|it is) (?:right|correct)\W*$")
_DENIAL = re.compile(r"\b(?:not right|not correct|isn't right|isn't correct|is wrong|are wrong|that's wrong|"
                     r"incorrect|a mistake)\b")
_BUT = re.compile(r"\b(?:but|except|apart from|although|though|change|changed|instead)\b")


def parse_yes_no(text: str) -> bool | None:
    """True for a yes ("yeah", "that's right", "sure"), False for a no ("nope", "that's not right", and a no with a
    correction: "no, eight three five two", "yes, but the time is wrong"), None when it is neither."""
    lower = lowered(text)
    if _BRITISH_YES.match(lower):
        return True
    if _NO_RE.match(lower) or _DENIAL.search(lower):
        return False
    if _YES_RE.match(lower):
        return not _BUT.search(lower)
    return None


# --- the types ----------------------------------------------------------------------------------------------------

NOT_CONTENT = STOP_WORDS | frozenset(
    "yes no yeah yep nope ok okay sorry pardon hello hi um uh er erm oh know don't dont i idea sure say again "
    "repeat thanks thank bye goodbye wait hold on hang sec second moment minute it is a an of to in as at me "
    "well so hmm".split())
_TAILS = ("please", "thanks", "thank you", "thanks very much", "here", "speaking", "calling", "if possible",
          "if that's okay", "if that's ok", "if you can")
# Courtesy after a time, said back without it ("Thursday morning, if that works"); a condition that says more ("if
# Dr Okafor is free", "if it's early") is part of the answer.
_WHEN_TAILS = _TAILS + ("is best", "would be best", "would be good", "would be great", "is good", "works",
                        "would work", "suits me", "for me", "if you have anything", "if that works",
                        "if that works for you", "if that suits", "if that suits you", "if that's alright",
                        "if that's all right", "if that's fine", "if that's possible", "if you have it",
                        "if you have one", "if you've got one", "if you have a slot", "if you've got a slot",
                        "if you can fit me in", "if there's one free", "if you have a space")
_FILLERS = ("um", "uh", "er", "erm", "oh", "ah", "well", "so", "okay", "ok", "right", "yes", "yeah", "sure",
            "hi", "hello", "actually", "sorry")
_NAME_LEADS = _FILLERS + (
    "my name is", "my name's", "the name is", "the name's", "name's", "name is", "this is", "it is", "it's",
    "i am", "i'm", "you can call me", "call me", "that's", "that is", "it's for", "it is for", "for", "to",
    "speak to", "speak with", "a message for", "the message is for", "message for", "please", "it should go to")
_NAME_MARKERS = ("for", "to", "is", "as", "me", "it's", "i'm")
# What a marker that is not only a name's must follow to introduce one: "my surname is Khan", "call me Sam"; not
# "my pump is making a racket", "let me turn the TV down", "the same as last time".
_MARKER_AFTER = {"is": frozenset("name surname forename this it that".split()), "me": frozenset(["call"]),
                 "as": frozenset("down known it booked listed".split())}
_ADDRESS_LEADS = _FILLERS + (
    "my address is", "the address is", "address is", "it's", "it is", "it's at", "i live at", "i'm at", "i am at",
    "we're at", "we are at", "we live at", "that's", "that is", "at", "the house is at", "please come to",
    "come to")
_WHEN_LEADS = _FILLERS + (
    "i'd prefer", "i would prefer", "preferably", "ideally", "i'd like", "i would like", "how about", "what about",
    "maybe", "perhaps", "could you do", "can you do", "could you come", "can you come", "could it be", "can it be",
    "it would be", "i think", "probably", "any chance of", "i'm free", "i am free", "we're free", "best would be",
    "please")
_STREET_WORDS = frozenset(
    "street st road rd avenue ave lane ln drive dr way close court ct place pl crescent boulevard blvd terrace "
    "square row hill park gardens grove mews apartment apt flat unit suite house cottage farm building floor "
    "highway parkway circle walk green".split())
_WHEN_WORDS = re.compile(
    r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekdays?|weekends?|today|tonight|tomorrow|"
    r"morning|afternoon|evening|night|lunch(?:time)?|noon|midday|week|month|am|pm|a\.m\.|p\.m\.|o'clock|asap|"
    r"soon|sooner|now|whenever|whatever|any ?time|any day|don't mind|no preference|flexible|earliest|next|later|"
    r"january|february|march|"
    r"april|may|june|july|august|september|october|november|december)\b")
_WHEN_TIME_WORDS = frozenset("today tonight tomorrow morning afternoon evening night noon midday someday sometime "
                             "monthly weekly daily".split())
_DAY_PARTS = {"morning": 9, "lunch": 12, "lunchtime": 12, "noon": 12, "midday": 12, "afternoon": 14,
              "evening": 18, "tonight": 19, "night": 19}
_EXPLICIT_HOUR = re.compile(r"\bat\s+\w+|\d{1,2}(?::\d\d)?\s*(?:am|pm|a\.m\.|p\.m\.)|o'clock")
_QUESTION = re.compile(r"(?i)^(?:what|what's|where|which|who|why|how|can|could|do|does|did|is|are|sorry)\b")
_SPELLED = re.compile(r"\b(?:[A-Za-z]-){2,}[A-Za-z]\b")


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u2019", "'")).strip().strip(" .,!?;:\"")


def _strip_leads(text: str, leads: tuple[str, ...]) -> str:
    ordered = sorted(leads, key=len, reverse=True)
    changed = True
    while changed and text:
        changed = False
        lower = text.lower()
        for lead in ordered:
            if lower.startswith(lead) and (len(lower) == len(lead) or lower[len(lead)] in " ,."):
                rest = text[len(lead):].strip(" ,.")
                if rest:  # never strip the whole answer ("Well" may be a name)
                    text, changed = rest, True
                    break
    return text


def _strip_tails(text: str, tails: tuple[str, ...] = _TAILS) -> str:
    for tail in sorted(tails, key=len, reverse=True):
        if text.lower().endswith(" " + tail):
            text = text[:-len(tail)].strip(" ,.")
    return text


def content_words(words: list[str]) -> list[str]:
    return [w for w in words if w.lower().strip(".,'") not in NOT_CONTENT]


def _title(word: str) -> str:
    return word if any(c.isupper() for c in word[1:]) and not word.isupper() else word.title()


def _unspell(text: str) -> str:
    """A spelled word is the word: "Martin, M-A-R-T-Y-N" is Martyn (it replaces a capitalised word before it)."""
    match = _SPELLED.search(text)
    while match is not None:
        before = text[:match.start()]
        prev = re.search(r"\b([A-Z][A-Za-z'\-]*)[\s,]*$", before)
        if prev is not None and prev.group(1).lower() not in NOT_CONTENT:
            before = before[:prev.start()]
        text = before + match.group(0).replace("-", "").title() + text[match.end():]
        match = _SPELLED.search(text)
    return text


def _parse_name(text: str) -> Parsed | None:
    if _ASKING.search(text):  # "how much is the call-out charge?" is a question, not a name
        return None
    text = _strip_tails(_strip_leads(_clean(_unspell(text)), _NAME_LEADS)).replace(",", " ")
    words = text.split()
    candidates = [words] + [words[i + 1:] for i in range(len(words) - 1, -1, -1)
                            if words[i].lower() in _NAME_MARKERS
                            and _introduces(words[:i], words[i].lower(), words[i + 1:])]
    for candidate in candidates:
        candidate = [w.strip(".") for w in candidate]
        while len(candidate) > 1 and candidate[0].lower() in ("the", "a", "an", "actually", "just"):
            candidate = candidate[1:]
        if looks_like_name(candidate):
            return Parsed(" ".join(_title(w) if w in content_words([w]) or w[:1].isupper() else w.lower()
                                   for w in candidate))
    return None


def _introduces(before: list[str], marker: str, after: list[str]) -> bool:
    """Whether the marker, after these words, introduces a name (see `_MARKER_AFTER`); or what follows it is
    written as a name is (the recogniser writes names capitalised: "the tenant is Sam Ortiz", "it's me, Sam")."""
    allowed = _MARKER_AFTER.get(marker)
    if allowed is None or before and before[-1].lower().strip(".,'") in allowed:
        return True
    named = [w for w in after if w.lower() not in _JOINING]
    return bool(named) and all(w[:1].isupper() for w in named)


def name_in_clauses(text: str) -> Parsed | None:
    """A name said as a clause of its own before or after more ("Sam Ortiz, my boiler is leaking", "My name is Sam
    Ortiz. The boiler's leaking."): the first clause whose name is written as one (`plainly`) and is either
    introduced ("it's Sam") or of two words or more, when the whole does not parse as a name. One capitalised word
    alone is no name: a sentence's first word is capitalised too ("Lovely, thanks, bye")."""
    clauses = [c.split() for c in re.split(r"[.,;!?]+|\s+and\s+", text) if c.strip()]
    for clause in clauses if len(clauses) > 1 else []:
        parsed = _parse_name(" ".join(clause))
        n = len(parsed.value.split()) if parsed is not None else 0
        said = " ".join(clause[-n:]) if n else ""
        if (parsed is not None and said.lower() == parsed.value.lower() and plainly("name", said)
                and (n >= 2 or len(clause) > n)):
            return parsed
    return None


_ASKING = re.compile(r"\b(?:what|when|where|why|which|who|how)\b", re.IGNORECASE)
# The small words a name or a colleague's description has inside it.
_JOINING = frozenset("in from at of on and de da das do dos del della di du la le van von der den ter bin ibn al el y"
                     .split())
_NOBODY = frozenset("someone somebody anyone anybody everyone nobody you him her them it me us this that there".split())


def looks_like_name(words: list[str]) -> bool:
    """1-4 words of letters, at most one of them a small word that joins a name's parts ("Bob in accounts", "Ana de
    Souza") or is written as a name ("Sam Will Jones"), and that one inside: not "the boiler have arrived" or
    "making a racket"."""
    if not 1 <= len(words) <= 4 or not all(re.fullmatch(r"[A-Za-z][A-Za-z'\-]*", w) for w in words):
        return False
    if all(w.lower() in _NOBODY for w in words):  # "someone" names nobody
        return False
    content = content_words(words)
    others = [w for w in words if w not in content]
    if len(others) > 1 or others and not (others[0].lower() in _JOINING or others[0][:1].isupper()):
        return False  # "Sam Will Jones" is written as a name
    return bool(content) and (not others or words[0] in content and words[-1] in content)


def _parse_phone(text: str) -> Parsed | None:
    digits = number_said(text)
    return Parsed(digits) if MIN_PHONE <= len(digits) <= MAX_PHONE else None


def _parse_address(text: str) -> Parsed | None:
    text = _strip_tails(_strip_leads(_clean(normalise_numbers(text)), _ADDRESS_LEADS))
    words = re.findall(r"[\w'\-]+", text)
    meaning = content_words(words)
    if not meaning or _QUESTION.match(text):
        return None
    if not re.search(r"[A-Za-z]", text) and len(re.sub(r"\D", "", text)) >= MIN_PHONE:
        return None  # digits alone, as many as a phone number's: not an address
    street = {w.lower() for w in words} & _STREET_WORDS
    if any(c.isdigit() for c in text) or street or (len(words) >= 3 and len(meaning) >= 2):
        return Parsed(text)
    return None


# Honorifics as said, each with the form a directory writes; the one list (the switchboard matches names with it).
HONORIFICS = {"doctor": "dr", "dr": "dr", "mister": "mr", "mr": "mr", "missus": "mrs", "mrs": "mrs", "ms": "ms",
              "miss": "miss", "mx": "mx"}
_TITLES = frozenset(HONORIFICS) | frozenset("professor prof nurse sir dame".split())  # before a name, not of it


def plainly(field_type: str, text: str) -> bool:
    """Whether words said unasked are plainly a value of the type, not just words a question for it would take:
    a name written as one ("Dr Okafor", not "really" or "Friday"), an address with a number and a street word
    ("14 Elm Grove", not "you got it wrong"). Names and addresses only."""
    words = re.findall(r"[A-Za-z][A-Za-z'\-]*", text)
    if field_type == "name":  # a title may be written in lower case ("doctor Okafor"), a name may not
        names = [w for w in words if w.lower().rstrip(".") not in _TITLES]
        return bool(names) and all(w[0].isupper() for w in names) and not _WHEN_WORDS.search(lowered(text))
    if field_type == "address":
        said = normalise_numbers(lowered(text))
        return bool(re.search(r"\d", said)) and bool({w.lower() for w in words} & _STREET_WORDS)
    return False


def when_iso(text: str, now: datetime) -> str:
    """The moment the words mean, as ISO local time to the minute ('' when they name none: "any time next week")."""
    lower = lowered(text)
    part = next((p for p in _DAY_PARTS if re.search(rf"\b{p}\b", lower)), None)
    when = parse_when(lower, now)
    if when is None and part and re.search(rf"\b(?:today|this {part}|tonight)\b", lower):
        when = now.replace(hour=_DAY_PARTS[part], minute=0, second=0, microsecond=0)
        if when <= now:
            return ""
    elif when is not None and part and not _EXPLICIT_HOUR.search(lower):
        when = when.replace(hour=_DAY_PARTS[part], minute=0)
    return when.isoformat(timespec="minutes") if when else ""


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_NAMES_A_DAY = re.compile(r"\b(?:" + "|".join(_WEEKDAYS) + r"|weekdays?|weekends?|today|tonight|tomorrow|yesterday|"
                          r"\d{1,2}(?:st|nd|rd|th)|january|february|march|april|may|june|july|august|september|"
                          r"october|november|december)\b")


def weekday_heard(text: str) -> str:
    """`text` with a word a recogniser wrote for a weekday made that weekday ("It was thirsty at two" -> "It was
    Thursday at two"), when the text names no day otherwise. Only for answers to "when?"."""
    if _NAMES_A_DAY.search(lowered(text)):
        return text
    for match in re.finditer(r"[A-Za-z]+", text):
        word = match.group(0).lower()
        if word in _WHEN_TIME_WORDS:
            continue
        day = next((d for d in _WEEKDAYS if heard_alike(word, d, 0.8)), None)
        if day is not None:
            return text[: match.start()] + day.title() + text[match.end():]
    return text


def _parse_datetime(text: str, now: datetime) -> Parsed | None:
    text = weekday_heard(_strip_tails(_strip_leads(_clean(text), _WHEN_LEADS), _WHEN_TAILS))
    lower = lowered(text)
    if not lower or not (_WHEN_WORDS.search(lower) or re.search(r"\d", lower) or parse_when(lower, now)):
        return None
    iso = when_iso(text, now)
    return Parsed(text, {"iso": iso} if iso else {})


def _parse_text(text: str) -> Parsed | None:
    text = _strip_leads(_clean(text), _FILLERS)
    words = re.findall(r"[\w'\-]+", text)
    return Parsed(text[:1].upper() + text[1:]) if len(words) >= 2 and content_words(words) else None


def parse(field_type: str, text: str, now: datetime | None = None) -> Parsed | None:
    """What the caller said as a value of this type, or None when it is not one."""
    if field_type == "name":
        return _parse_name(text)
    if field_type == "phone":
        return _parse_phone(text)
    if field_type == "address":
        return _parse_address(text)
    if field_type == "datetime":
        return _parse_datetime(text, now or datetime.now())
    if field_type == "yesno":
        answer = parse_yes_no(text)
        return None if answer is None else Parsed("yes" if answer else "no")
    if field_type == "text":
        return _parse_text(text)
    raise ValueError(f"unknown field type {field_type!r}")


_HINTS = {
    "name": "Sorry, I didn't catch the name.",
    "phone": "Sorry, I need the whole number, at least seven digits. You can say it or key it in.",
    "address": "Sorry, I need the street address, with the house number if there is one.",
    "datetime": "Sorry, I didn't catch a time. Something like tomorrow morning, or Friday at two, is fine.",
    "text": "Sorry, could you say that in a few more words?",
    "yesno": "Sorry, just a yes or a no, please.",
}


def hint(field_type: str) -> str:
    """Said before the question again after an answer that was not a value of this type."""
    return _HINTS[field_type]


_PERSON = {"i": "you", "i'm": "you're", "i've": "you've", "i'd": "you'd", "i'll": "you'll", "me": "you",
           "my": "your", "mine": "yours", "myself": "yourself", "we": "you", "we're": "you're", "we've": "you've",
           "we'd": "you'd", "we'll": "you'll", "us": "you", "our": "your", "ours": "yours", "i am": "you are",
           "we are": "you are", "i was": "you were", "we were": "you were"}
_PERSON_RE = re.compile(r"\b(?:i am|we are|i was|we were|i'm|i've|i'd|i'll|we're|we've|we'd|we'll|myself|mine|"
                        r"ours|our|my|me|us|we|i)\b", re.IGNORECASE)


def second_person(text: str) -> str:
    """The caller's words as said back to them: "my boiler is leaking" -> "your boiler is leaking"."""
    def swap(match: re.Match[str]) -> str:
        said = _PERSON[match.group(0).lower()]
        return said.capitalize() if match.start() == 0 else said
    return _PERSON_RE.sub(swap, text.replace("\u2019", "'"))


def readback(field_type: str, value: str) -> str:
    """A stored value as said back to the caller."""
    if field_type == "phone":
        return read_back_digits(value)
    if field_type in ("text", "address", "datetime"):
        said = second_person(value)
        first = said.split(" ", 1)[0]
        return said[:1].lower() + said[1:] if first.lower() in NOT_CONTENT and first != "I" else said
    return value
