"""The conductor's telephone features: DTMF keys (shortcuts, keyed numbers) and transfers out of the call.

Part of `CallConductor` (split out for size): it runs on the event loop and uses the conductor's state.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time

from employai.runtime.keypad import KeyedNumber, Shortcut
from employai.runtime.speaker import SpokenTurn
from sip_config.schema import DirectoryEntry
from speech.playout import Playout
from speech.stt import Transcript

log = logging.getLogger(__name__)


class KeysAndTransfers:
    def _on_key(self, key: str) -> None:
        log.debug("dtmf received", extra={"digit": "*" if self._identity.expecting_pin else key})
        if self._front_desk is None or self._ended.is_set():
            return
        if self._digit_timer is not None:
            self._digit_timer.cancel()
            self._digit_timer = None
        action = self._keypad.press(key)
        if isinstance(action, Shortcut):
            entry = self._directory.by_name(action.target)
            if entry is not None:
                self._last_activity = time.monotonic()
                self._barge_in()
                self._start_turn(lambda turn: self._announce_transfer(entry, turn))
        elif isinstance(action, KeyedNumber):
            self._keyed_number(action)
        elif self._keypad.collecting:
            self._digit_timer = self._loop.call_later(self._config.dtmf.interdigit_timeout_s, self._digits_done)

    def _digits_done(self) -> None:
        self._digit_timer = None
        keyed = self._keypad.flush()
        if keyed is not None:
            self._keyed_number(keyed)

    def _keyed_number(self, keyed: KeyedNumber) -> None:
        """Digits keyed as the answer to a question count as if the caller had said the number."""
        self._last_activity = time.monotonic()
        stt: asyncio.Future = self._loop.create_future()
        stt.set_result(Transcript(keyed.text))
        self._barge_in()
        self._start_turn(lambda t: self._reply(stt, t), caller_turn=(stt, time.monotonic()))
        self._caller_turn_heard(stt, time.monotonic())

    async def _announce_transfer(self, entry: DirectoryEntry, turn: SpokenTurn) -> None:
        text = self._config.transfer.announce_text.format(name=entry.name)
        await self._speaker.speak(once(text), turn)
        await self._speaker.wait_played(turn)
        self._transfer_task = asyncio.create_task(self._transfer_to(entry))

    async def _transfer_if_the_model_asked(self, turn: SpokenTurn) -> None:
        """A model that calls tools may have asked for a transfer (`transfer_call`): carry it out once its reply is
        heard, announcing it if the reply did not say anything."""
        entry = self._transfer_request.take()
        if entry is None or self._ended.is_set():
            return
        log.info("transfer asked for by the model")
        if not turn.text().strip():
            await self._speaker.speak(once(self._config.transfer.announce_text.format(name=entry.name)), turn)
        await self._speaker.wait_played(turn)
        self._transfer_task = asyncio.create_task(self._transfer_to(entry))

    async def _transfer_to(self, entry: DirectoryEntry) -> None:
        """Carry out a transfer to a directory entry; on failure, tell the caller and carry on."""
        uri = self._directory.uri_of(entry)
        if entry.attended and self._dial is not None:
            outcome, status = await self._transfers.attended(uri, self._dial, functools.partial(self._introduce, entry),
                                                             self._config.transfer.colleague_ring_s)
        else:
            status = await self._transfers.blind(uri)
            outcome = "joined" if 200 <= status < 300 else "failed"
        log.info("transfer finished", extra={"outcome": outcome, "status": status, "attended": entry.attended})
        self._record.annotate(transferred_to=f"{entry.name} <{uri}> ({outcome} {status})")
        if outcome == "joined":
            self.end_reason = "transferred"
            self._handle.hangup()
            return
        transfer = self._config.transfer
        if outcome == "no_answer":
            self._message_for = entry
            text = transfer.no_answer_text.format(name=entry.name)
        else:
            text = transfer.failed_text.format(name=entry.name)
        self._start_turn(lambda turn: self._speaker.speak(once(text), turn))

    async def _introduce(self, entry: DirectoryEntry, playout: Playout) -> None:
        """Tell the colleague, in a sentence, who is on the line and why (attended transfer)."""
        caller = self._memory.known("name") or self.context.remote.display_name or "a caller"
        said = [t.text for t in self._store.turns(self.call_id) if t.role == "caller"]
        reason = f", calling about: {said[-2]}" if len(said) >= 2 else ""
        text = self._config.transfer.introduce_text.format(name=entry.name.split()[0], bot=self._config.profile.name,
                                                           caller=caller, reason=reason)
        pcm = await asyncio.to_thread(self._engines.synthesizer.synthesize, text)
        segment = playout.enqueue(pcm, text, 1)
        while not segment.done:  # noqa: ASYNC110 (the media thread plays it on its 20 ms clock)
            await asyncio.sleep(0.02)


async def once(text: str):
    yield text
