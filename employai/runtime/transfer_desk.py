"""Putting a caller through to a directory entry: blind (REFER) or attended (call the colleague, introduce the
caller, then join the calls), and the outcome in a word. A collaborator of the conductor: it is given the call's
`Transfers` (the SIP side), the way to dial a colleague and the sentence that introduces the caller; it says
nothing to the caller itself (the conductor does). Event loop only; synthesis runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass

from brain.switchboard import Directory
from sip_config.schema import DirectoryEntry, TransferSettings
from speech.playout import Playout
from speech.tts import Synthesizer

from .transfers import Dial, Transfers

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TransferOutcome:
    outcome: str  # "joined", "no_answer" or "failed"
    status: int
    uri: str

    def say(self, settings: TransferSettings, name: str) -> str:
        """What the caller hears when they are still with us."""
        text = settings.no_answer_text if self.outcome == "no_answer" else settings.failed_text
        return text.format(name=name)


class TransferDesk:
    def __init__(self, directory: Directory, synthesizer: Synthesizer, dial: Dial | None,
                 settings: TransferSettings, bot_name: str):
        self._directory = directory
        self._synthesizer = synthesizer
        self._dial = dial
        self._settings = settings
        self._bot = bot_name

    async def put_through(self, entry: DirectoryEntry, transfers: Transfers,
                          who_is_calling: Callable[[], tuple[str, list[str]]]) -> TransferOutcome:
        """`who_is_calling()`: the caller's name and what they said (asked only for an attended transfer)."""
        uri = self._directory.uri_of(entry)  # raises for anything but a directory entry
        if entry.attended and self._dial is not None:
            introduce = functools.partial(self._introduce, self._introduction(entry, *who_is_calling()))
            outcome, status = await transfers.attended(uri, self._dial, introduce, self._settings.colleague_ring_s)
        else:
            status = await transfers.blind(uri)
            outcome = "joined" if 200 <= status < 300 else "failed"
        log.info("transfer finished", extra={"outcome": outcome, "status": status, "attended": entry.attended})
        return TransferOutcome(outcome, status, uri)

    def _introduction(self, entry: DirectoryEntry, caller: str, said: list[str]) -> str:
        """What the colleague hears first: who is on the line and why (the caller's turn before the request)."""
        reason = f", calling about: {said[-2]}" if len(said) >= 2 else ""
        return self._settings.introduce_text.format(name=entry.name.split()[0], bot=self._bot, caller=caller,
                                                    reason=reason)

    async def _introduce(self, text: str, playout: Playout) -> None:
        """Tell the colleague, in a sentence, who is on the line and why (attended transfer)."""
        pcm = await asyncio.to_thread(self._synthesizer.synthesize, text)
        segment = playout.enqueue(pcm, text, 1)
        await _played(segment)


async def _played(segment) -> None:
    while not segment.done:  # noqa: ASYNC110 (the media thread plays it on its 20 ms clock)
        await asyncio.sleep(0.02)

