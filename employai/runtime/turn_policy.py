"""Who answers this turn: the one place that decides it, for calls and `employai chat` alike.

Each caller turn goes through explicit steps, in this order, and the first that answers wins:

    verification  the PIN, when the caller ID is only a claim (calls only); no later step sees the PIN
    repeat        "sorry, say that again": the last reply, again
    erasure       "forget me": ask, then erase once the answer is heard
    close         thanks and goodbye: a polite close, then the bot hangs up
    robot         "are you a robot?": an honest answer
    intake        a form being filled goes on (one field at a time, in code)
    confirmation  a question the bot asked: a transfer it was unsure of, a number it read back, a message offered
    transfer      "put me through to ...": the directory only; an unsure match is confirmed first
    intake        a request that a form handles starts it (by meaning); a callback request is booked
    fact          the business's facts and knowledge, by meaning
    memory        what the caller told us before, by meaning
    model         the front-desk model, checked sentence by sentence: nothing it invents is spoken
    fallback      "I don't know that, I can take a message", which offers the message form

The dialogue state is code: the model only phrases the open-ended replies. What an answer does to the world
(a form stored, an erasure, a transfer, a hang-up) happens in `heard`, once the caller has heard it; a reply
prepared during a pause and dropped unheard is undone with `checkpoint`/`rollback`. Event loop only.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from brain.fields import parse_yes_no, read_back_digits, spoken_digits
from brain.forget_me import ForgetMe
from brain.front_desk import FrontDesk
from brain.intake import FormRunner, FormStep
from brain.switchboard import Directory
from memory.caller_memory import CallerMemory
from memory.extractor import Fact, extract_facts, holds_number
from sip_config import Config
from sip_config.schema import FormSettings

from .answers import (
    ANYTHING_ELSE,
    CLOSE,
    DONT_KNOW,
    DONT_KNOW_SHORT,
    NO_MESSAGE,
    NOTHING_TO_REPEAT,
    NUMBER_AGAIN,
    NUMBER_KEYPAD,
    NUMBER_NOTED,
    OFFER_FORM,
    ROBOT,
    SAY_AGAIN,
    THANKS_ONLY,
    WHO_THEN,
    Answer,
)
from .identity import IdentityCheck
from .model_voice import ModelVoice
from .turn_state import ACKNOWLEDGED, TAKEN, TurnState
from .understanding import Understanding

log = logging.getLogger(__name__)

@dataclass
class TurnPolicy:
    config: Config
    understanding: Understanding
    desk: FrontDesk
    memory: CallerMemory
    directory: Directory
    commit: Callable[..., Any]  # runs a memory write where writes go (the call's writer thread, or directly)
    identity: IdentityCheck | None = None
    call_id: int | None = None
    verified_name: Callable[[], str] = lambda: ""  # the name we know for the caller a PIN has just verified
    _state: TurnState = field(default_factory=TurnState)
    _said_this_call: list[str] = field(default_factory=list)
    _intent: str | None = None  # this turn's goodbye / robot / repeat, if any
    _follows: str = ""  # this turn's: the question a fact answered the turn before
    refused: list[str] = field(default_factory=list)  # model sentences not spoken (for the log and the tests)
    _facts_found: dict[str, str | None] = field(default_factory=dict)
    _voice: ModelVoice = field(init=False)
    expects: str = ""  # what the caller is expected to say next, for the transcriber (speech.stt.EXPECTATIONS)
    _unsure: bool = False  # this turn's words are doubted by the recogniser, and the bot has not just asked again

    def __post_init__(self) -> None:
        self._voice = ModelVoice(self.config, self.directory, self._model_refused)

    # --- the steps ------------------------------------------------------------------------------------------

    async def answer(self, said: str, unsure: bool = False) -> Answer:
        """The answer to what the caller said. Only the verification step sees a PIN the caller gave; every other
        step, the history and the model see it masked. `unsure`: the recogniser doubts the words (see
        `speech.stt.Transcript.unsure`); unless a step that acts on what it heard (a form, a transfer, a check)
        takes them, the caller is asked to say it again, once, before a fact or the model answers them."""
        self._unsure, self._state.asked_again = unsure and not self._state.asked_again, False
        if (found := await self._verification(said)) is not None:
            return found
        said = self.identity.redact(said) if self.identity is not None else said
        self._said_this_call.append(said)
        self._intent = await asyncio.to_thread(self.understanding.intent, said)  # once a turn, off the event loop
        self._follows, self._state.fact_asked = self._state.fact_asked, ""
        steps: list[Callable[[str], Any]] = [
            self._repeat, self._erasure, self._close, self._robot, self._form_goes_on,
            self._confirmation, self._transfer, self._form_starts, self._fact, self._memory]
        for step in steps:
            found = await step(said)
            if found is not None:
                if found.step != "erasure":
                    await self.desk.note_caller(said)
                return found
        return await self._open_reply(said)

    async def _repeat(self, said: str) -> Answer | None:
        if self._intent != "repeat":
            return None
        return Answer("repeat", self._state.last_reply or NOTHING_TO_REPEAT)

    async def _erasure(self, said: str) -> Answer | None:
        if not self.memory.remembers:
            return None
        forget = ForgetMe(self._state.forget_pending)
        text, erase = forget.answer(said)
        self._state.forget_pending = forget.pending
        if text is None:
            return None
        await self.desk.note_caller(said)
        return Answer("erasure", text, erase=erase)

    async def _verification(self, said: str) -> Answer | None:
        if self.identity is None:
            return None
        reply = await self.identity.answer(said)
        if reply is None:
            return None
        await self.desk.note_caller(self.identity.redact(said))
        say = reply.say
        if reply.verified_now:  # by name, when the number whose PIN it is has one
            name = self.verified_name()
            say = say.format(name=f", {name}" if name else "")
        return Answer("verification", say, verified_now=reply.verified_now,
                      expects_number=self.identity.expecting_pin)

    async def _close(self, said: str) -> Answer | None:
        if self._intent != "goodbye":
            return None
        self._state.form = None
        return Answer("close", CLOSE.format(company=self.config.profile.company), hang_up=True)

    async def _robot(self, said: str) -> Answer | None:
        if self._intent != "robot":
            return None
        text = ROBOT.format(company=self.config.profile.company)
        if self._state.form is not None:  # then back to the question the caller was answering
            text += " " + self._state.form.question()
        return Answer("robot", text)

    async def _form_goes_on(self, said: str) -> Answer | None:
        form = self._state.form
        if form is None:
            return None
        decision = self.directory.decide(said)
        if decision is not None and decision.entry is not None and not decision.confirm:
            self._state.form = None  # the caller would rather talk to someone
            return Answer("transfer", decision.say, transfer_to=decision.entry)
        before = form.snapshot()
        step = form.answer(said)
        if step.done or step.cancelled or not self.understanding.is_question(said) or form.progressed(before):
            return self._form_step(step)
        form.restore(before)  # a question that is not an answer: an aside, then back to the form
        fact = await self._business_fact(said)
        return Answer("fact", f"{fact or DONT_KNOW_SHORT} {form.question()}")

    def _form_step(self, step: FormStep) -> Answer:
        name = self._state.form_name
        if step.done or step.cancelled:
            self._state.form = None
        answer = Answer("intake", step.say, expects_number=step.expects_number)
        if step.done:
            answer.save = (name, dict(step.values))
        return answer

    async def _confirmation(self, said: str) -> Answer | None:
        state = self._state
        entry, state.confirm_entry = state.confirm_entry, None
        if entry is not None:
            yes = parse_yes_no(said)
            if yes:
                return Answer("transfer", self.config.transfer.announce_text.format(name=entry.name),
                              transfer_to=entry)
            if yes is False:  # "no, billing": a bare name now is the request
                decision = self.directory.decide(said, asked=True)
                if decision is None or decision.entry is None:
                    state.who_asked = True
                    return Answer("transfer", WHO_THEN.format(names=self.directory.names()))
                if decision.confirm:
                    state.confirm_entry = decision.entry
                    return Answer("transfer", decision.say)
                return Answer("transfer", decision.say, transfer_to=decision.entry)
        if state.numbers is not None:
            return await self._numbers_heard(said)
        offer, state.offer = state.offer, None
        if offer is not None:
            yes = parse_yes_no(said)
            if yes and ACKNOWLEDGED.search(said) and not TAKEN.search(said):
                return None  # "okay, cheers, that's all": thanked, not taken; the turn is answered as said
            form, request, prefill = offer
            if yes:
                return self._start_form(form, request, prefill)
            if yes is False:  # "no, put me through to sales", "no, I'd like an appointment": answered as asked
                more = (self.directory.decide(said) is not None or self.understanding.is_question(said)
                        or await self._asks_another_form(said, form))
                return None if more else Answer("intake", NO_MESSAGE)
            text_field = next((f.key for f in form.fields if f.type == "text" and f.key not in prefill), None)
            if (form is self.understanding.message_form and prefill and text_field and len(said.split()) >= 4
                    and not self.understanding.is_question(said)):
                # "Carol isn't answering. Can I take a message?" answered with the message itself
                return self._start_form(form, request, {**prefill, text_field: said})
        return None

    async def _asks_another_form(self, said: str, offered: FormSettings) -> bool:
        """The caller, declining the form offered, asks for another in the same breath."""
        match = await asyncio.to_thread(self.understanding.form_for, said)
        return match is not None and match.sure and match.form is not offered

    async def _numbers_heard(self, said: str) -> Answer | None:
        facts, asked = self._state.numbers or ([], "")
        self._state.numbers = None
        yes = parse_yes_no(said)
        corrected = [f for f in extract_facts(said) if holds_number(f)]
        digits = spoken_digits(said)
        if yes is not True and not corrected and len(digits) >= 3:  # "no, eight three five two": the tail changes
            corrected = [Fact(facts[0].key, facts[0].value[: -len(digits)] + digits)] if facts else []
        same = bool(corrected) and [f.value for f in corrected] == [f.value for f in facts]  # heard alike again
        if corrected and not same:
            return self._read_back(corrected, asked)
        if yes or same and yes is None:
            self.commit(self.memory.add_facts, facts)
            follow = await self._after_numbers(asked)
            text = NUMBER_NOTED + (" " + follow.text if follow is not None and follow.text else "")
            return follow if follow is not None and follow.stream is not None else Answer("memory", text)
        if yes is False:  # said again and heard the same: the line garbles it, so the keypad
            self._state.numbers = (facts[:1], asked) if facts else None
            return Answer("memory", NUMBER_KEYPAD if same else NUMBER_AGAIN, expects_number=True)
        return None

    def _read_back(self, facts: list[Fact], asked: str) -> Answer:
        self._state.numbers = (facts, asked)
        parts = [f"your {f.key} as {read_back_digits(f.value)}" for f in facts]
        return Answer("memory", "I have " + " and ".join(parts) + ". Is that right?")

    async def _after_numbers(self, asked: str) -> Answer | None:
        """Once the numbers are confirmed, whatever else the caller asked in the same breath."""
        for step in (self._transfer, self._form_starts_after_numbers, self._fact):
            found = await step(asked)
            if found is not None:
                return found
        return None

    async def _transfer(self, said: str) -> Answer | None:
        asked, self._state.who_asked = self._state.who_asked, False
        decision = self.directory.decide(said, asked=asked)
        if decision is None:
            return None
        self._state.who_asked = decision.entry is None  # refused: the names were said, "then Billing" is a request
        if decision.confirm and decision.entry is not None:
            self._state.confirm_entry = decision.entry
            return Answer("transfer", decision.say)
        return Answer("transfer", decision.say, transfer_to=decision.entry)

    async def _form_starts(self, said: str) -> Answer | None:
        if self.memory.remembers and (booked := self.memory.book_callback(said, self.call_id)) is not None:
            return Answer("intake", booked)
        if self.memory.remembers and (numbers := [f for f in extract_facts(said) if holds_number(f)]):
            return self._read_back(numbers, said)  # stored once the caller confirms them
        return await self._form_starts_after_numbers(said)

    async def _form_starts_after_numbers(self, said: str) -> Answer | None:
        match = await asyncio.to_thread(self.understanding.form_for, said)
        if match is None:
            return None
        if not match.sure and self._unsure:  # an unsure guess at doubted words: asked again (`_open_reply`)
            return None
        if not match.sure or match.facts_first:  # a receptionist who is unsure asks (unless a fact answers it)
            if await self._business_fact(said) is not None:
                return None
        if not match.sure:  # offered, after the one fact about what was described, if one is
            self._state.offer = (match.form, said, {})
            lead = await asyncio.to_thread(self.understanding.fact_about, said)
            return Answer("intake", " ".join(filter(None, (lead, OFFER_FORM.format(what=match.form.name)))))
        return self._start_form(match.form, said)

    def _start_form(self, form: FormSettings, said: str, prefill: dict[str, str] | None = None) -> Answer:
        known = {key: self.memory.known(key) for key in ("name", "callback number", "address")
                 if self.memory.remembers and self.memory.known(key)}
        if self.memory.remembers and "callback number" not in known and self.memory.caller_user.lstrip("+").isdigit():
            known["callback number"] = self.memory.caller_user  # a verified caller's own number
        runner = FormRunner(form, known=known, request=said, prefill=prefill or {},
                            colleague=self.directory.colleague_name)  # a message's recipient, as the directory has it
        self._state.form, self._state.form_name = runner, form.name
        return self._form_step(runner.start())

    async def _business_fact(self, said: str) -> str | None:
        if said not in self._facts_found:  # asked once a turn, whichever step asks first
            self._facts_found = {said: await asyncio.to_thread(self.understanding.business_fact, said, self.memory,
                                                               self._follows)}
        return self._facts_found[said]

    async def _fact(self, said: str) -> Answer | None:
        if self._unsure:  # doubted words: heard again before a fact is read out for them (`_open_reply`)
            return None
        fact = await self._business_fact(said)
        if fact is None:
            return None
        self._state.fact_asked = said
        if not self.config.llm.continue_after_fact:
            return Answer("fact", fact)
        return Answer("fact", stream=self._voice.after_fact(self.desk, self.memory, fact, said, self._said_this_call))

    async def _memory(self, said: str) -> Answer | None:
        if not self.memory.remembers or self._unsure:
            return None
        known = self.memory.fact_sentences()
        if not known:
            return None
        fact = await asyncio.to_thread(self.understanding.caller_fact, said, known)
        return Answer("memory", fact) if fact is not None else None

    async def _open_reply(self, said: str) -> Answer:
        """Nothing above answered: a short yes, no or thanks gets a line of its own; the rest, the model (checked,
        so it invents nothing) or, with a model too small to answer open questions, the honest fallback."""
        if len(said.split()) <= 6 and parse_yes_no(said) is not None or THANKS_ONLY.search(said):
            return Answer("fallback", ANYTHING_ELSE)
        if self._unsure:  # a receptionist who did not catch it asks, rather than answer what was misheard
            self._state.asked_again = True
            return Answer("fallback", SAY_AGAIN)
        if self._voice.open_replies() == "fallback":
            self._state.offer = (self.understanding.message_form, "", {})
            return Answer("fallback", DONT_KNOW)
        return Answer("model", stream=self._voice.reply(self.desk, self.memory, self.call_id, said,
                                                        self._said_this_call))

    def _model_refused(self, sentence: str) -> None:
        self.refused.append(sentence)
        self._state.offer = (self.understanding.message_form, "", {})
        log.info("a model reply stated something ungrounded; not spoken", extra={"step": "model"})

    # --- after the reply ------------------------------------------------------------------------------------

    async def heard(self, answer: Answer, spoken: str) -> None:
        """The caller heard `spoken` (all of the answer, or up to a barge-in): the history holds it, and what the
        answer does happens now."""
        self._state.last_reply = spoken or self._state.last_reply
        asked = self._state.form.expects if self._state.form is not None else ""
        self.expects = "digits" if (self._state.numbers is not None
                                    or self.identity is not None and self.identity.expecting_pin) else asked
        await self.desk.note_spoken(spoken)
        if answer.erase:  # the caller of `heard` then rebinds an anonymous memory: nothing more is remembered
            await asyncio.to_thread(self.memory.forget)
            return
        if answer.save is not None:
            name, values = answer.save
            self.commit(self.memory.save_form, name, values, self.call_id)
            self.understanding.notify(name, values, self.call_id, self.memory)

    def offer_message(self, for_whom: str) -> None:
        """A colleague did not answer: a "yes" now takes a message for them."""
        form = self.understanding.message_form
        whom = next((f.key for f in form.fields if f.type == "name"), "")
        self._state.offer = (form, "", {whom: for_whom} if whom else {})

    def rebind(self, memory: CallerMemory, desk: FrontDesk) -> None:
        """The caller proved who they are: their memory and a front desk that knows them."""
        self.memory, self.desk = memory, desk

    @property
    def forgotten(self) -> bool:
        return not self.memory.remembers

    async def checkpoint(self) -> tuple:
        return (copy.deepcopy(self._state), await self.desk.checkpoint(), len(self._said_this_call),
                self.identity.snapshot() if self.identity is not None else None)

    async def rollback(self, checkpoint: tuple) -> None:
        state, desk, said, identity = checkpoint
        self._state = state
        await self.desk.rollback(desk)
        del self._said_this_call[said:]
        if identity is not None and self.identity is not None:
            self.identity.restore(identity)
