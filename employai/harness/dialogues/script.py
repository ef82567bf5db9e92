"""Scripted callers for `employai eval conversation`: what a caller says or keys, and what must follow.

A dialogue is a list of caller turns, each with what the bot's next reply must contain or do, and an outcome the
whole call must reach. Expectations are written about substance, not wording (the bot's sentences may change):
a reply "mentions eighty dollars", "reads the number back digit by digit", "asks something", "names Sales and
puts the caller through"; an outcome is a form stored with the right fields, a transfer to the right entry, the
call closed by the bot (BYE). Patterns are case-insensitive regular expressions.

Pure data and helpers: no I/O. Caller texts write numbers as words (the synthetic voices read "5550107788" as
one large number).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

_DIGIT_WORDS = ("zero|oh|o", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

# Substance that many turns check, as patterns on the reply.
ASKS = r"\?"
NAME = r"\bname\b"
ADDRESS = r"address|where (do|are) you|where is|which street|where should"
WHEN = r"\bwhen\b|\btime\b|\bday\b|what day|suit"
PHONE = r"number|phone|reach you|call you"
CONFIRMS = r"is that (right|correct|ok)|right\?|correct\?|did you (say|mean)|do you mean|shall i|would you like"
TRANSFERRING = r"put you through|putting you through|transfer|connect"
DONT_KNOW = (r"(don't|do not|not) (know|sure|have)|no information|can('t| ?not) (say|tell|answer|help with)"
             r"|not able to|take a message|leave a message")
CLOSING = r"bye|thank"
ROBOT = r"automated|assistant|virtual|\bai\b|artificial|robot|computer|machine|not a (real )?(person|human)"
DONE = r"booked|noted|taken|pass (it|that|this) on|thank|recorded|saved|confirm"
ANYTHING_ELSE = r"anything else|help (you )?with|else i can"
MOVES_ON = r"anything else|help|else|okay|all right|sure|no problem"


def number(digits: str) -> str:
    """A pattern for a number read back digit by digit, in figures or words: '5 5 5, 0 1 0' or 'five five five'."""
    return r"[\s,.\-]*".join(f"(?:{d}|{_DIGIT_WORDS[int(d)]})" for d in digits)


@dataclass(frozen=True)
class Expect:
    """What the bot's reply to one caller turn must contain or do."""

    what: str  # in words, for the list of failures ("reads the number back")
    says: tuple[str, ...] = ()  # each pattern must match the reply
    avoid: tuple[str, ...] = ()  # no pattern may match the reply (an invention, a wrong answer)
    repeats: bool = False  # the reply repeats the bot's previous reply
    hangs_up: bool = False  # the bot ends the call after this reply (BYE)
    transfers_to: str = ""  # a transfer is attempted to this directory entry (its name)


@dataclass(frozen=True)
class Fix:
    """A part of a form the caller checks when the bot reads the form back, as a person listens to a read-back:
    when the bot names the part (`part`) with a value other than theirs (`right` does not match), they say
    `say` ("No, the address is Fourteen Elm Grove.")."""

    part: str  # a pattern for the part's name in the read-back ("address")
    right: str  # a pattern the part's value matches when the bot has it right ("elm")
    say: str


@dataclass(frozen=True)
class Turn:
    """One caller turn: words said by a synthetic voice, a human recording (its words in `text`), or keys."""

    text: str
    expect: Expect
    keys: str = ""  # DTMF keys pressed instead of speaking, e.g. "5550107788#"
    recording: str = ""  # a file of the shared speech recordings (manifest.tsv) that says `text`
    wants: str = ""  # what the caller asks to be done ("book an appointment"): their answer to the bot's offers
    offered: str = ""  # a pattern for the bot's offer of it (default: every word of `wants` of 4 letters or more)
    fixes: tuple[Fix, ...] = ()  # the form the bot reads back after this turn, as the caller checks it


@dataclass(frozen=True)
class FormCheck:
    """A stored form: its name matches `form`; each (key pattern, value pattern) matches one of its fields.
    A value pattern `digits:NNN` compares the digits of the stored value (a phone number)."""

    form: str
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What the call as a whole must have done (all of it)."""

    form: FormCheck | None = None
    no_form: bool = False  # nothing stored (a form given up, questions only)
    transfer: str = ""  # a transfer was attempted to this directory entry
    no_transfer: bool = False
    message_for: str = ""  # a message was taken for whom this pattern matches (a form or a message task)
    closed: bool = False  # the bot closed the call: it said goodbye and sent BYE
    answered: bool = False  # every turn's reply was right (question-and-answer dialogues)

    def describe(self) -> str:
        parts = []
        if self.form is not None:
            parts.append(f"form '{self.form.form}' with {', '.join(self.form.fields)}")
        if self.no_form:
            parts.append("no form stored")
        if self.transfer:
            parts.append(f"transfer to {self.transfer}")
        if self.no_transfer:
            parts.append("no transfer")
        if self.message_for:
            parts.append(f"message for /{self.message_for}/")
        if self.closed:
            parts.append("closed by the bot")
        if self.answered:
            parts.append("every answer right")
        return "; ".join(parts)


@dataclass(frozen=True)
class Dialogue:
    name: str
    about: str
    turns: tuple[Turn, ...]
    outcome: Outcome
    voice: str = "slt"  # flite voice: slt or rms
    codec: str = "PCMU"  # the only codec the caller offers: PCMU or PCMA (8 kHz G.711 either way)


# --- the caller answers the bot's checks ----------------------------------------------------------------------

@dataclass(frozen=True)
class Check:
    """How the caller answers when the bot checks what it heard ("Sales, is that right?", "That's 5 5 5, 0 1 0,
    7 7 8 8. Is that right?"), as a person would: yes when the bot has it right, no and the right words when not.
    The caller hears the reply through the line (employai dial transcribes it), so the check is on what was heard.
    Asked to key a number in instead (a bot that cannot hear it right), the caller keys it, as people do."""

    right: str  # a pattern the bot's check matches when it has it right
    yes: str  # what the caller says then ("": the script's next turn answers a right check itself)
    no: str  # what the caller says when it is wrong
    digits: bool = False  # a number is checked: the caller listens for digits
    asks: str = CONFIRMS  # what makes a reply a check
    keys: str = ""  # what the caller keys when the bot asks for the keypad instead (a number: its digits and #)
    fixes: tuple[Fix, ...] = ()  # a read-back: each part checked on its own (then `right` and `no` are unused)


NAMED = r"\bname\b(?!,? is)"  # the read-back's "name, Tom Brennan" (not "the name is")
FOR_WHOM = r"for whom|\bwhom\b"
OFFERS = r"would you like me to"  # a bot that was not sure what the caller asked for offers it
READ_BACK = r"correct|right\?"  # a form read back, and read back again after a part was changed
_DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_ANSWERS_ITSELF = r"^\W*(?:yes|yeah|yep|no|nope)\b"  # a next turn that already answers a check
_TITLES = frozenset(("dr", "doctor", "mr", "mrs", "ms", "miss", "mister"))


def digits_in_words(digits: str) -> str:
    """'5550107788' -> 'five five five, zero one zero, seven seven eight eight' (groups of 3, 3, the rest)."""
    groups = [digits[:3], digits[3:6], digits[6:]] if len(digits) > 6 else [digits]
    return ", ".join(" ".join(_DIGIT_NAMES[int(d)] for d in group) for group in groups if group)


def check_for(turns: tuple[Turn, ...], index: int) -> Check | None:
    """How the caller answers a check of turn `index`: a transfer asked for by name, a number said aloud, the
    offer of what they asked for (yes; no and what they want, when the bot offers something else), or a form read
    back (each part they gave)."""
    import re

    from brain.fields import spoken_digits  # a harness import of the product's digit reading: the words are ours

    turn = turns[index]
    following = turns[index + 1].text if index + 1 < len(turns) else ""
    script_answers = bool(re.search(_ANSWERS_ITSELF, following, re.IGNORECASE))
    if turn.keys:
        return None  # keys are read back as keyed
    if turn.fixes:
        return Check("", "" if script_answers else "Yes, that's right.", "", asks=READ_BACK, fixes=turn.fixes)
    if turn.wants:
        asked = [w for w in re.findall(r"[a-z]+", turn.wants.lower()) if len(w) > 3]
        offered = turn.offered or "".join(rf"(?=.*\b{w})" for w in asked)
        return Check(offered, "Yes, please.", f"No, I'd like to {turn.wants}, please.", asks=OFFERS)
    if turn.expect.transfers_to:
        name = turn.expect.transfers_to
        words = [w for w in re.findall(r"[A-Za-z]+", name) if w.lower() not in _TITLES]
        return Check("|".join(rf"\b{w}\b" for w in words), "" if script_answers else "Yes, please.",
                     f"No, {name}, please.")
    digits = spoken_digits(turn.text)
    if len(digits) >= 7 and number(digits) in turn.expect.says:
        return Check(number(digits), "" if script_answers else "Yes, that's right.",
                     f"No, it's {digits_in_words(digits)}.", digits=True, keys=f"{digits}#")
    return None


# --- shorthands for writing dialogues ------------------------------------------------------------------------

def say(text: str, what: str, *says: str, avoid: tuple[str, ...] = (), repeats: bool = False,
        hangs_up: bool = False, transfers_to: str = "") -> Turn:
    return Turn(text, Expect(what, tuple(says), avoid, repeats, hangs_up, transfers_to))


def starts(text: str, wants: str, what: str, *says: str, offered: str = "") -> Turn:
    """A request that starts a form (`wants`: the form, as the caller would name it when offered another)."""
    return Turn(text, Expect(what, tuple(says)), wants=wants, offered=offered)


def review(text: str, what: str, *says: str, fixes: tuple[Fix, ...]) -> Turn:
    """A turn after which the bot reads the whole form back: the caller checks the parts in `fixes`."""
    return Turn(text, Expect(what, tuple(says)), fixes=fixes)


def keys(digits: str, what: str, *says: str) -> Turn:
    return Turn(f"(keys {digits})", Expect(what, tuple(says)), keys=digits)


def recording(filename: str, words: str, what: str, *says: str, avoid: tuple[str, ...] = (),
              transfers_to: str = "") -> Turn:
    return Turn(words, Expect(what, tuple(says), avoid, transfers_to=transfers_to), recording=filename)


def goodbye(text: str) -> Turn:
    return say(text, "closes politely and hangs up", CLOSING, hangs_up=True)


def repeat(text: str) -> Turn:
    return say(text, "repeats its last reply", repeats=True)


def dont_know(text: str, avoid: tuple[str, ...] = ()) -> Turn:
    return say(text, "says honestly it does not know (and offers a message)", DONT_KNOW, avoid=avoid)


def decline(text: str) -> Turn:
    """The caller turns down an offer (a message): the bot moves on and starts no form."""
    return say(text, "accepts the no and moves on (no form started)", MOVES_ON,
               avoid=(r"who .*message for|your name|what.*message",))
