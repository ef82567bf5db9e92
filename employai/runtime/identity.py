"""Who is on the line, as far as the bot can tell, and how a caller proves it with a PIN.

Caller ID is a claim. A call whose identity came from a trusted proxy (`sip.trusted_proxies`), or an outbound call
to a number we chose, is verified; any other caller is treated as unknown (no memory is read or written for them)
until they give the PIN of the number they claim: a PIN set on an earlier verified call ("set my PIN"), keyed
(digits then #) or spoken. Three wrong PINs lock that number's PIN for a while (`memory.pins`).

Deterministic on purpose: no model decides who a caller is. Event loop only.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Protocol

from memory.extractor import DIGIT_WORD, normalise_numbers
from memory.pins import weak_pin

PIN_DIGITS = (4, 8)

_PERSONAL = re.compile(r"\bmy\b[^.?!]{0,40}\b(order|booking|reference|account|number|details|address|email|"
                       r"appointment|visit|name|message|callback)\b|\bwhat do you (know|have) (about|on) me\b"
                       r"|\bremind me\b|\bforget (about )?me\b|\b(?:set|change|create|reset)\b[^.?!]{0,20}\bpin\b",
                       re.IGNORECASE)
_SET_PIN = re.compile(r"\b(set|change|create|reset|make|new)\b[^.?!]{0,30}\bpin\b|\bpin\b[^.?!]{0,20}\b(set|change)",
                      re.IGNORECASE)
_MENTIONS_PIN = re.compile(r"\bpin\b|\bpin number\b|\bpasscode\b", re.IGNORECASE)
_DIGIT_WORD_OR_RUN = re.compile(r"\b(?:" + DIGIT_WORD + r")\b|\d[\d\s,.-]*\d|\d", re.IGNORECASE)

# Each line is at most two sentences (llm.max_reply_sentences cuts longer ones), the question last: keys typed
# after a question about a PIN are collected as the PIN (employai.runtime.keypad).
ASK_PIN = ("I can't confirm who's calling from this line yet. If you have a PIN with us, key it in and press hash, "
           "or just say it: what is your PIN?")
VERIFIED = "Thank you{name}, that's confirmed. How can I help?"
WRONG_PIN = "I'm sorry, that PIN doesn't match, so I can't go into your account on this call."
ASK_NEW_PIN = "Please key in a new PIN of four to eight digits, then press hash. What is your new PIN?"
ASK_AGAIN = "Please key in the same PIN once more, then press hash. What is your new PIN again?"
PIN_SET = "Your PIN is set. Next time, you can use it to confirm it's you."
PIN_MISMATCH = "Those two PINs were different, so I haven't changed anything."
PIN_BAD = "A PIN needs four to eight digits, not all the same or in a row, so I haven't changed anything."
NOT_VERIFIED_FOR_PIN = "I can only set a PIN on a call from your own number."


def digits_in(text: str) -> str:
    """The digits a caller gave, keyed or spoken ('4 4 7 1', '4471', 'four four seven one'), read as memory reads
    numbers (`memory.extractor.normalise_numbers`)."""
    return "".join(re.findall(r"\d", normalise_numbers(text)))


@dataclass(frozen=True)
class IdentityReply:
    say: str
    verified_now: bool = False  # the caller just proved who they are: bind their memory to the call


class Pins(Protocol):
    """The PINs as the identity check uses them (`memory.pins.PinStore`). Blocking: run in a worker thread."""

    def verify(self, caller_user: str, pin: str) -> bool: ...

    def set(self, caller_user: str, pin: str) -> None: ...


class IdentityCheck:
    """One per call."""

    def __init__(self, claimed_user: str, verified: bool, pins: Pins) -> None:
        self.claimed_user = claimed_user
        self.verified = verified and bool(claimed_user)
        self._pins = pins
        self._expect: str | None = None  # "pin" | "new_pin" | "new_pin_again"
        self._new_pin = ""
        self._pin_answers: list[str] = []  # recent caller turns that answered a PIN question (to redact)

    @property
    def user(self) -> str:
        """The caller whose memory this call may read and write ('' while unknown)."""
        return self.claimed_user if self.verified else ""

    @property
    def expecting_pin(self) -> bool:
        return self._expect is not None

    def snapshot(self) -> tuple:
        return self.verified, self._expect, self._new_pin

    def restore(self, state: tuple) -> None:
        """Back to `snapshot()`'s state: a reply prepared during a pause and dropped unheard changes nothing."""
        self.verified, self._expect, self._new_pin = state

    def redact(self, text: str) -> str:
        """What is kept of a caller's turn (transcript, history): digits given as a PIN are never stored."""
        answered_pin = any(text.strip() and text.strip() in answer for answer in self._pin_answers)
        if self._expect is None and not answered_pin and not _MENTIONS_PIN.search(text):
            return text
        return _DIGIT_WORD_OR_RUN.sub("****", text)

    async def answer(self, text: str) -> IdentityReply | None:
        """The bot's line when this turn is about identity (a PIN asked, given or set); else None."""
        expect, self._expect = self._expect, None
        if expect is not None:
            self._pin_answers.append(text)
            del self._pin_answers[:-4]
        if expect == "pin":
            return await self._check_pin(digits_in(text))
        if expect in ("new_pin", "new_pin_again"):
            return await self._new_pin_step(expect, digits_in(text))
        if _SET_PIN.search(text):
            if not self.verified:  # prove who you are first (with the PIN you have), or call from your own number
                return IdentityReply(ASK_PIN) if self._ask_pin() else IdentityReply(NOT_VERIFIED_FOR_PIN)
            self._expect = "new_pin"
            return IdentityReply(ASK_NEW_PIN)
        if not self.verified and self.claimed_user and _MENTIONS_PIN.search(text) and digits_in(text):
            return await self._check_pin(digits_in(text))
        if not self.verified and self.claimed_user and _PERSONAL.search(text):
            self._ask_pin()
            return IdentityReply(ASK_PIN)
        return None

    def _ask_pin(self) -> bool:
        if not self.claimed_user:
            return False
        self._expect = "pin"
        return True

    async def _check_pin(self, pin: str) -> IdentityReply:
        """A salted scrypt check (tens of ms): in a worker thread, off the event loop."""
        if (self.claimed_user and PIN_DIGITS[0] <= len(pin) <= PIN_DIGITS[1]
                and await asyncio.to_thread(self._pins.verify, self.claimed_user, pin)):
            self.verified = True
            return IdentityReply(VERIFIED, verified_now=True)
        return IdentityReply(WRONG_PIN)

    async def _new_pin_step(self, step: str, pin: str) -> IdentityReply:
        if not PIN_DIGITS[0] <= len(pin) <= PIN_DIGITS[1] or weak_pin(pin):
            self._new_pin = ""
            return IdentityReply(PIN_BAD)
        if step == "new_pin":
            self._new_pin = pin
            self._expect = "new_pin_again"
            return IdentityReply(ASK_AGAIN)
        first, self._new_pin = self._new_pin, ""
        if pin != first:
            return IdentityReply(PIN_MISMATCH)
        await asyncio.to_thread(self._pins.set, self.claimed_user, pin)
        return IdentityReply(PIN_SET)
