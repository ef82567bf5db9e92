"""One intake form being filled on a call: which question comes next, what an answer means, the read-back.

Pure and synchronous (no I/O, no model): the dialogue state is code, so a form is filled with the smallest model.
The whole state is one immutable value: `snapshot()` hands it out and `restore()` puts it back, so a reply the caller
never heard (dropped by a barge-in) changes nothing. Not thread-safe: a runner belongs to one call's turn policy.

How it behaves (the decisions):
- Values memory knows (`known`, matched by field key: "name", "callback number", "address") are not asked; they are
  said once at the start ("I have your name as Alice Martin."). Values the caller's policy already has (`prefill`,
  e.g. "for whom" after a failed transfer) are not asked or announced. Both are in the read-back, where they can be
  changed.
- The request that started the form fills what it already says (`form_request`): whom a message is for (the first name
  field not keyed "name", as the directory writes a colleague's name when it names one) and the problem.
- While a short answer (a name, a number, a yes or no, a time) is asked and the problem is not yet given, a
  statement of it said instead ("my pump is making a racket, could you swap it out?") is told it comes later
  ("We'll come to that in a moment."), and the question asked again (a miss all the same).
- An answer that is not of the field's type is asked again with a hint, at most twice. After a third miss a free
  field (text, address, datetime) keeps the caller's words as said; a strict one (name, phone, yesno) stays empty
  and the form moves on. A number said in pieces shorter than 7 digits is kept and added to ("Go on.").
- A phone number is read back digit by digit and confirmed. A correction with 7 or more digits replaces it; a
  shorter one replaces the tail of the same length ("no, eight three five two"); the result is read back again.
  A no asks for the number again and offers the keypad; a second no, or a correction heard as the same digits
  again (a line that garbles them the same way each time), asks for the keypad, as IVRs do.
- "cancel", "never mind", "forget it" (at the start of a short answer) cancel the form; while the caller is choosing
  what to change they mean "change nothing" instead.
- At the end the form is read back in two sentences for "Is that all correct?". A no asks "Which part should I
  change?"; the part is named by its key or type words (name, address, time, number, problem, message) and may come
  with the new value ("no, the time should be Friday afternoon").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from sip_config.schema import FormField, FormSettings

from . import fields
from .fields import parse, parse_yes_no, read_back_digits, readback
from .form_request import problem_from_request, recipient_from_request, request_field
from .form_words import (
    ADDRESS_START,
    CANCEL,
    CORRECTING,
    EXPECTS,
    KEYPAD_ONLY,
    KEYPAD_TOO,
    LINE_TROUBLE,
    TO_SOMEONE,
    join,
    named_as_part,
    named_field,
    number_noun,
    remainder,
    value_for,
)

MAX_MISSES = 2  # an answer of the wrong type is asked again this many times
MAX_UNCLEAR = 2  # "is that number right?" answered by neither yes nor no, this many times: the number stands
FREE_TYPES = ("text", "address", "datetime")
# Asked one of these, a caller who says what the problem is instead is told it comes later, and asked again. It is
# not taken down then: such a sentence may be a name the parser refuses, or about the line ("it's really bad").
LATER_WHILE = ("name", "phone", "yesno", "datetime")
LATER = "We'll come to that in a moment."
_ACKS = ("Thank you.", "Got it.", "All right.")


@dataclass(frozen=True)
class FormStep:
    say: str
    expects_number: bool = False  # the keypad collects digits for this question
    done: bool = False  # confirmed by the caller: store it
    cancelled: bool = False  # the caller gave up ("never mind"): the policy moves on
    values: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _State:
    phase: str = "ask"  # ask | confirm (a number) | review | which (part to change) | done | cancelled
    index: int = 0  # the field asked or confirmed
    values: Mapping[str, str] = field(default_factory=dict)  # replaced, never changed in place
    misses: int = 0  # answers of the wrong type to this question
    partial: str = ""  # digits of a number said in pieces
    number: str = ""  # the number being confirmed
    editing: bool = False  # chosen at the review: back to the review after it
    unclear: int = 0
    rejected: int = 0  # read-backs of this number the caller said were wrong
    last: str = ""  # the last thing said


class FormRunner:
    """One form being filled on a call. Pure and synchronous (no I/O): the dialogue state is code."""

    def __init__(self, form: FormSettings, known: Mapping[str, str] | None = None, request: str = "",
                 prefill: Mapping[str, str] | None = None, clock: Callable[[], datetime] = datetime.now,
                 colleague: Callable[[str], str] = lambda said: ""):
        """`colleague`: the directory's name of the colleague the words name for certain ("" when none): a
        message's recipient is written as the directory writes it ("for doctor Okafor" -> "Dr James Okafor")."""
        self.form = form
        self._clock = clock
        self._colleague = colleague
        self._announced: list[tuple[FormField, str]] = []
        start: dict[str, str] = {}
        target = request_field(form)
        if target is not None and (said := problem_from_request(request, form)):
            start[target.key] = said
        recipient = next((f for f in form.fields if f.type == "name" and f.key != "name"), None)
        # a message's recipient may be a colleague of ours (not a booking's "patient name")
        self._recipient = recipient if any(f.key == "message" for f in form.fields) else None
        if recipient is not None and (whom := recipient_from_request(request)):
            start[recipient.key] = (colleague(whom) if self._recipient is not None else "") or whom
        for source, announce in ((prefill or {}, False), (known or {}, True)):
            for item in form.fields:
                raw = source.get(item.key, "") if announce else value_for(source, item.key)
                parsed = parse(item.type, raw, clock()) if raw.strip() else None
                if parsed is not None and item.key not in start:
                    start.update(self._with_extra(item, parsed.value, parsed.extra))
                    if announce:
                        self._announced.append((item, parsed.value))
        self._initial = _State(values=start)
        self._state = self._initial
        self._for_whom = start.get(recipient.key, "") if recipient is not None else ""

    # --- what the policy reads ---------------------------------------------------------------------------------

    @property
    def phase(self) -> str:
        return self._state.phase

    @property
    def field(self) -> FormField | None:
        """The field being asked or confirmed (None at the read-back and after the end)."""
        return self.form.fields[self._state.index] if self._state.phase in ("ask", "confirm") else None

    @property
    def values(self) -> dict[str, str]:
        return dict(self._state.values)

    @property
    def expects(self) -> str:
        """What the caller's next words are (one of speech.stt.EXPECTATIONS), for the transcriber: a number, a
        time, an address, their own name (a message's recipient is one of ours: the business's words hear it
        better); "" for nothing in particular."""
        item = self.field
        if item is None or item is self._recipient:
            return ""
        return EXPECTS.get(item.type, "")

    def question(self) -> str:
        """The question the caller is answering, to ask it again after an aside ("are you a robot?")."""
        s = self._state
        if s.phase == "ask":
            return self.form.fields[s.index].prompt
        if s.phase == "confirm":
            return f"Is {read_back_digits(s.number)} the right number?"
        return {"review": "Is that all correct?", "which": "Which part should I change?"}.get(s.phase, "")

    def snapshot(self) -> object:
        return self._state

    def restore(self, snap: object) -> None:
        if not isinstance(snap, _State):
            raise TypeError("not a snapshot of a FormRunner")
        self._state = snap

    def progressed(self, snap: object) -> bool:
        """Whether the last answer moved the form on from `snap` (a value taken, a phase passed), rather than being
        asked again for what did not fit the question."""
        if not isinstance(snap, _State):
            raise TypeError("not a snapshot of a FormRunner")
        s = self._state
        return (s.phase, s.index, dict(s.values), s.number) != (snap.phase, snap.index, dict(snap.values), snap.number)

    # --- the dialogue ------------------------------------------------------------------------------------------

    def start(self) -> FormStep:
        """The first question, after saying once what memory already knows."""
        self._state = self._initial
        known = [f"your {item.key} as {readback(item.type, value)}" for item, value in self._announced]
        lead = (f"Certainly, for {self._for_whom}." if self._for_whom else "Certainly.") + (
            f" I have {join(known)}." if known else "")
        return self._next(self._state, lead, after=-1)

    def answer(self, caller_text: str) -> FormStep:
        s = self._state
        if s.phase in ("done", "cancelled"):
            return self._step(s, s.last)
        if CANCEL.match(caller_text.strip()) and len(caller_text.split()) <= 12:
            if s.phase == "which":
                return self._step(replace(s, phase="review", unclear=0), "All right. So is everything correct?")
            return self._step(replace(s, phase="cancelled"),
                              "No problem, I won't take that down. Is there anything else I can help you with?")
        handler = {"ask": self._on_answer, "confirm": self._on_confirm, "review": self._on_review,
                   "which": self._on_which}[s.phase]
        return handler(s, caller_text)

    def _on_answer(self, s: _State, text: str) -> FormStep:
        item = self.form.fields[s.index]
        if (named := self._earlier_named(s, text)) is not None:
            other = self.form.fields[named]
            new = self._earlier_value(other, text)
            if new is None:  # "nope, the address is 24 oh, pro": that part asked again, then the rest as before
                return self._step(replace(s, index=named, misses=0, partial=""), f"Of course. {other.prompt}")
            values = {**s.values, **self._with_extra(other, new.value, new.extra)}  # then the question again
            return self._step(replace(s, values=values, misses=0, partial=""),
                              f"Thank you, I've changed the {other.key} to {readback(other.type, new.value)}. "
                              f"{item.prompt}", number=item.type == "phone")
        if item.type == "phone":
            return self._on_number(s, item, text)
        parsed = self._parse(item, text)  # or the caller's name said with more: "Sam Ortiz, my boiler is leaking"
        if parsed is None and item.type == "name" and item is not self._recipient:
            parsed = fields.name_in_clauses(text)
        if parsed is None:
            return self._miss(s, item, text)
        values = {**s.values, **self._with_extra(item, parsed.value, parsed.extra)}
        return self._stored(replace(s, values=values), item, parsed.value)

    def _earlier_named(self, s: _State, text: str) -> int | None:
        """A name, an address or a time already given, named in a correction while a question with a short answer
        is asked ("no, the address is 14 Elm Grove" when asked for the number, "sorry, my name is Aisha Khan" when
        asked when). None for anything else, which answers the question asked: all of it while free text is asked
        ("no, the house is fine, it's the boiler at 22 Oak Road" is a problem)."""
        if self.form.fields[s.index].type == "text" or not CORRECTING.match(text):
            return None
        index = named_field(self.form.fields, text)
        if index is None or index >= s.index:  # a part asked before this one (not one memory filled later on)
            return None
        other = self.form.fields[index]
        if named_as_part(text, other) is None:  # "no, this is my first time" answers; "no, the time is ..." corrects
            return None
        return index if other.type in ("name", "address", "datetime") and s.values.get(other.key) else None

    def _earlier_value(self, other: FormField, text: str) -> fields.Parsed | None:
        """The new value said with the part named, when it plainly is one (not "the name of the part is a
        thermostat"); None when the part is to be asked again."""
        rest = remainder(text[named_as_part(text, other) or 0:], other)  # "no, I haven't, the time is ..."
        parsed = self._parse(other, rest) if rest else None
        if parsed is None:
            return None
        if other.type == "datetime":
            return parsed if parsed.extra else None  # a time understood
        if other.type == "address" and not ADDRESS_START.match(rest):
            return None  # the address itself ("22 Oak Road", "flat 3, ..."), not words around one
        plain = fields.plainly(other.type, rest) or other is self._recipient and self._colleague(rest)
        return parsed if plain else None

    def _on_number(self, s: _State, item: FormField, text: str) -> FormStep:
        digits = fields.number_said(text)
        pieces = s.partial + digits
        if s.partial and not digits.startswith(s.partial) and fields.MIN_PHONE <= len(pieces) <= fields.MAX_PHONE:
            number = pieces  # the rest of a number said in pieces ("555" ... "0107788")
        elif fields.MIN_PHONE <= len(digits) <= fields.MAX_PHONE:
            number = digits  # the whole number (again)
        elif digits and len(pieces) < fields.MIN_PHONE:
            return self._step(replace(s, partial=pieces), "Go on.", number=True)
        else:
            return self._miss(replace(s, partial=""), item, text)
        return self._step(replace(s, phase="confirm", number=number, partial="", unclear=0),
                          f"That's {read_back_digits(number)}. Is that right?")

    def _miss(self, s: _State, item: FormField, text: str) -> FormStep:
        if s.misses < MAX_MISSES:
            lead = LATER if self._problem_later(s, item, text) else fields.hint(item.type)
            return self._step(replace(s, misses=s.misses + 1), f"{lead} {item.prompt}", number=item.type == "phone")
        said = re.sub(r"\s+", " ", text).strip().strip(" .,!?")
        if item.type in FREE_TYPES and said:
            return self._stored(replace(s, values={**s.values, item.key: said}), item, said)
        return self._next(s, "Never mind, let's move on.", after=s.index)

    def _problem_later(self, s: _State, item: FormField, text: str) -> bool:
        """Whether the caller, asked for a short answer, said what the problem is instead ("my pump is making a
        racket, could you swap it out?" when asked the name), and the form asks for the problem later. Not words
        about the line, nor a name the parser refused ("Nguyen Van An": written as a name after its first word)."""
        target = request_field(self.form)
        if (item.type not in LATER_WHILE or item is self._recipient or target is None or s.values.get(target.key)
                or self.form.fields.index(target) < s.index or LINE_TROUBLE.search(text)
                or fields.plainly("name", " ".join(text.split()[1:]))):
            return False
        return bool(problem_from_request(text, self.form))

    def _on_confirm(self, s: _State, text: str) -> FormStep:
        item = self.form.fields[s.index]
        yes = parse_yes_no(text)
        corrected = fields.correct_number(s.number, text)
        if corrected is not None and corrected != s.number:
            return self._step(replace(s, number=corrected, unclear=0, rejected=s.rejected + (yes is False)),
                              f"So that's {read_back_digits(corrected)}. Is that right?")
        if yes is True or (yes is None and (corrected == s.number or s.unclear >= MAX_UNCLEAR)):
            return self._stored(replace(s, values={**s.values, item.key: s.number}), item, s.number)
        if yes is False:  # and no new digits: "no", or "no, it's ..." heard as the same digits again
            noun = number_noun(item)
            again = replace(s, phase="ask", misses=0, partial="", number="", rejected=s.rejected + 1)
            if s.rejected or corrected == s.number:  # the line garbles this number: the keypad
                return self._step(again, KEYPAD_ONLY.format(noun=noun), number=True)
            return self._step(again, KEYPAD_TOO.format(noun=noun), number=True)
        return self._step(replace(s, unclear=s.unclear + 1),
                          f"Sorry, I just need a yes or a no. Is {read_back_digits(s.number)} the right number?")

    def _stored(self, s: _State, item: FormField, value: str) -> FormStep:
        """A field has its value: thank the caller and ask the next question (or go back to the read-back)."""
        s = replace(s, misses=0, partial="", number="", unclear=0, rejected=0)
        if s.editing:
            return self._step(replace(s, phase="review", editing=False),
                              f"Thank you, I've changed the {item.key} to {readback(item.type, value)}."
                              " Is that all correct now?")
        ack = _ACKS[s.index % len(_ACKS)]
        if item.key == "name" and item.type == "name":
            ack = f"Thanks, {value.split()[0]}."
        return self._next(s, ack, after=s.index)

    def _next(self, s: _State, lead: str, after: int) -> FormStep:
        for index in range(after + 1, len(self.form.fields)):
            item = self.form.fields[index]
            if not s.values.get(item.key):
                return self._step(replace(s, phase="ask", index=index, misses=0, partial="", editing=False,
                                          rejected=0),
                                  f"{lead} {item.prompt}", number=item.type == "phone")
        if not any(s.values.get(item.key) for item in self.form.fields):
            return self._step(replace(s, phase="cancelled"),
                              "I'm sorry, I couldn't take that down. Is there anything else I can help you with?")
        return self._step(replace(s, phase="review", unclear=0), f"{lead} {self._read_back(s.values)}")

    def _read_back(self, values: Mapping[str, str]) -> str:
        parts = [f"{item.key}, {readback(item.type, values[item.key])}" for item in self.form.fields
                 if values.get(item.key)]
        return f"Let me check I have that right: {'; '.join(parts)}. Is that all correct?"

    def _on_review(self, s: _State, text: str) -> FormStep:
        yes = parse_yes_no(text)
        if yes is True:
            return self._step(replace(s, phase="done"), self.form.done_text, done=True)
        named = named_field(self.form.fields, text)
        if named is None and yes is False:
            named = self._valued_field(text)  # "no, it's for Dr Okafor": the one part the new value can be
        if named is not None:
            return self._change(s, named, text)
        if yes is False:
            return self._step(replace(s, phase="which", unclear=0), "Which part should I change?")
        return self._step(replace(s, unclear=s.unclear + 1), "Sorry, is all of that correct?")

    def _on_which(self, s: _State, text: str) -> FormStep:
        named = named_field(self.form.fields, text)
        if named is not None:
            return self._change(s, named, text)
        if parse_yes_no(text) is True or re.search(r"\b(?:nothing|none|no change)\b", text, re.IGNORECASE):
            return self._step(replace(s, phase="review", unclear=0), "All right. So is everything correct?")
        parts = join([item.key for item in self.form.fields], "or")
        return self._step(s, f"Sorry, which part should I change: {parts}?")

    def _change(self, s: _State, index: int, text: str) -> FormStep:
        item = self.form.fields[index]
        s = replace(s, index=index, editing=True, misses=0, partial="", unclear=0)
        old = s.values.get(item.key, "")
        if item.type == "phone":
            number = fields.correct_number(old, text) if old else None
            if number is not None:
                return self._step(replace(s, phase="confirm", number=number),
                                  f"So that's {read_back_digits(number)}. Is that right?")
        elif rest := remainder(text, item):  # "no, the address is 14 The Green", "no, the problem is the boiler"
            parsed = self._parse(item, rest)
            if parsed is not None:
                values = {**s.values, **self._with_extra(item, parsed.value, parsed.extra)}
                return self._stored(replace(s, values=values), item, parsed.value)
        return self._step(replace(s, phase="ask"), f"Of course. {item.prompt}", number=item.type == "phone")

    def _valued_field(self, text: str) -> int | None:
        """The one part (of a type with a shape: a name, an address, a time) that what the caller said after a no
        plainly is a value of ("no, it's for Dr Okafor"); None when none or several are ("no, not really")."""
        fits = []
        for i, item in enumerate(self.form.fields):
            rest = remainder(text, item) if item.type in ("name", "address", "datetime") else ""
            parsed = parse(item.type, rest, self._clock()) if rest else None
            if parsed is not None and (parsed.extra if item.type == "datetime" else fields.plainly(item.type, rest)):
                fits.append(i)  # a time understood; a name or an address as such, not any words
            elif item is self._recipient and rest and TO_SOMEONE.search(text) and self._colleague(rest):
                fits.append(i)  # a colleague of ours, however the recogniser wrote the name ("doctor or Okafor")
        return fits[0] if len(fits) == 1 else None

    def _parse(self, item: FormField, text: str) -> fields.Parsed | None:
        """The value of an answer for a field: a message's recipient as the directory writes a colleague's name."""
        if item is self._recipient and (name := self._colleague(text)):
            return fields.Parsed(name, {})
        return parse(item.type, text, self._clock())

    def _with_extra(self, item: FormField, value: str, extra: Mapping[str, str]) -> dict[str, str]:
        return {item.key: value, **{f"{item.key} {name}": v for name, v in extra.items()}}

    def _step(self, s: _State, say: str, number: bool = False, done: bool = False) -> FormStep:
        self._state = replace(s, last=say)
        return FormStep(say=say, expects_number=number, done=done, cancelled=s.phase == "cancelled",
                        values=dict(s.values))
