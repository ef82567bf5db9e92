"""DTMF on a call: a key that is a shortcut, and digits keyed as the answer to a question about a number.

A collaborator of the conductor with a declared interface: it is told what the bot said (`expect`), is given
each key (`press`), and reports what the keys mean through two callbacks. It owns the inter-digit timer.
Event loop only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sip_config.schema import DtmfSettings

from .keypad import KeyedNumber, Keypad, Shortcut

log = logging.getLogger(__name__)


class CallKeys:
    def __init__(self, settings: DtmfSettings, loop: asyncio.AbstractEventLoop,
                 on_number: Callable[[str], None], on_shortcut: Callable[[str], object]):
        """`on_number(text)`: keyed digits, as the caller would have said them ("My phone number is 5550107788.");
        `on_shortcut(name)`: a key that names a directory entry."""
        self._keypad = Keypad(settings)
        self._timeout_s = settings.interdigit_timeout_s
        self._loop = loop
        self._on_number, self._on_shortcut = on_number, on_shortcut
        self._timer: asyncio.TimerHandle | None = None

    def expect(self, spoken: str, number: bool = False) -> None:
        """What the bot just said: keys after a question about a number (or when the turn says one is asked
        for) are collected as that number."""
        self._keypad.expect_number(spoken)
        if number and not self._keypad.expecting:
            self._keypad.expect_kind("number")

    def press(self, key: str, secret: bool = False) -> None:
        log.debug("dtmf received", extra={"digit": "*" if secret else key})
        self._cancel_timer()
        action = self._keypad.press(key)
        if isinstance(action, Shortcut):
            self._on_shortcut(action.target)
        elif isinstance(action, KeyedNumber):
            self._on_number(action.text)
        elif self._keypad.collecting:
            self._timer = self._loop.call_later(self._timeout_s, self._digits_done)

    def close(self) -> None:
        self._cancel_timer()

    def _digits_done(self) -> None:
        self._timer = None
        keyed = self._keypad.flush()
        if keyed is not None:
            self._on_number(keyed.text)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
