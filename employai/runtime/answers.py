"""What the turn policy says and does: one answer a turn (its text or the model's stream, and what it does once
heard), and the lines the policy says word for word."""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from brain.form_words import keypad_lines
from sip_config import Config
from sip_config.schema import DirectoryEntry

ROBOT = ("Yes, I'm an automated assistant for {company}, not a person. I can answer questions, take a booking or a "
         "message, or put you through to someone.")
CLOSE = "Thank you for calling {company}. Goodbye!"
NOTHING_TO_REPEAT = "I haven't said anything yet. How can I help?"
DONT_KNOW_SHORT = "I'm sorry, I don't know that."
DONT_KNOW = "I'm sorry, I don't know that. I can take a message for someone who does: would you like that?"
NO_MESSAGE = "All right. Is there anything else I can help with?"
ANYTHING_ELSE = "All right. Is there anything else I can help you with?"
NUMBER_NOTED = "Thank you, I've noted that."
SAY_AGAIN = "Sorry, I didn't quite catch that. Could you say it again?"
NUMBER_AGAIN = "Sorry about that. Could you tell me the number again, or key it in on your keypad?"
NUMBER_KEYPAD = ("Sorry, this line is making the digits hard to hear. Could you key the number in on your keypad,"
                 " then press hash?")
THANKS_ONLY = re.compile(r"^\W*(?:ok(?:ay)?\W+|great\W+|lovely\W+)?(?:thanks|thank you|cheers)"
                         r"(?: (?:very|so) much)?\W*$", re.IGNORECASE)
OFFER_FORM = "Would you like me to {what} for you?"
WHO_THEN = "Sorry, who would you like to speak to? I can put you through to {names}."


@dataclass
class Answer:
    """One reply, and what it does once heard."""
    step: str
    text: str = ""
    stream: AsyncGenerator[str, None] | None = None
    transfer_to: DirectoryEntry | None = None
    hang_up: bool = False
    verified_now: bool = False
    expects_number: bool = False
    save: tuple[str, dict[str, str]] | None = None  # a completed form: (name, values)
    erase: bool = False  # "forget me", confirmed: erase once heard

    async def pieces(self) -> AsyncGenerator[str, None]:
        if self.stream is not None:
            async for piece in self.stream:
                yield piece
        elif self.text:
            yield self.text


def fixed_lines(config: Config) -> list[str]:
    """The lines this policy says word for word: synthesised at start, so they start at once on a call."""
    company = config.profile.company
    lines = [ROBOT.format(company=company), CLOSE.format(company=company), DONT_KNOW, NO_MESSAGE, NUMBER_NOTED,
             NUMBER_AGAIN, NUMBER_KEYPAD, SAY_AGAIN,
             *(config.transfer.announce_text.format(name=e.name) for e in config.transfer.directory)]
    for form in config.forms:
        lines += [f.prompt for f in form.fields] + keypad_lines(form)
    return lines
