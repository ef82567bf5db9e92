"""DTMF keys on a call: shortcuts (a key that transfers to a directory entry), and digits collected as a number
while the bot is asking for one ("What is your order number?" then 4 4 7 1 #)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sip_config.schema import DtmfSettings

MAX_DIGITS = 20
_ASKS_FOR_NUMBER = re.compile(r"\b(?:your|the)\s+(?:([a-z]+)\s+)?(number|pin|code)\b[^.!]*\?", re.IGNORECASE)


@dataclass(frozen=True)
class Shortcut:
    target: str  # a directory entry's name


@dataclass(frozen=True)
class KeyedNumber:
    text: str  # what the keyed digits mean, as the caller would have said it: "My order number is 4471."
    digits: str


def asked_number(bot_text: str) -> str | None:
    """If the bot just asked for a number, what kind ('order number', 'PIN'); else None."""
    match = _ASKS_FOR_NUMBER.search(bot_text)
    if match is None:
        return None
    kind = match.group(2).lower()
    label = match.group(1)
    if label and label.lower() not in ("phone", "own"):
        return f"{label.lower()} {kind}"
    return "phone number" if label and label.lower() == "phone" else kind


class Keypad:
    """Turns keys into actions. Event-loop only; the conductor owns the inter-digit timer."""

    def __init__(self, settings: DtmfSettings):
        self._settings = settings
        self._shortcuts = {k: v for k, v in settings.shortcuts.items()}
        self._collecting: str | None = None
        self._digits = ""

    def expect_number(self, bot_text: str) -> None:
        """Called with each thing the bot says: keys after a question about a number are that number."""
        self._collecting = asked_number(bot_text)
        self._digits = ""

    def expect_kind(self, kind: str) -> None:
        """Keys from now on are a number of this kind (the turn said it asks for one)."""
        self._collecting = kind
        self._digits = ""

    @property
    def expecting(self) -> bool:
        return self._collecting is not None

    @property
    def collecting(self) -> bool:
        return self._collecting is not None and bool(self._digits)

    def press(self, key: str) -> Shortcut | KeyedNumber | None:
        if self._collecting is not None:
            if key == self._settings.terminator:
                return self.flush()
            if key.isdigit():
                self._digits = (self._digits + key)[:MAX_DIGITS]  # a flood of keys cannot grow without bound
                return None
        if key in self._shortcuts:
            return Shortcut(self._shortcuts[key])
        return None

    def flush(self) -> KeyedNumber | None:
        """The digits keyed so far as a number (on the terminator or the inter-digit timeout)."""
        if not self._collecting or not self._digits:
            return None
        kind, digits = self._collecting, self._digits
        self._collecting, self._digits = None, ""
        return KeyedNumber(f"My {kind} is {digits}.", digits)
