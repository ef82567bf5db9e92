"""One call, end to end. The whole chain is here, in order:

    SIP frames -> VAD segmenter -> Whisper (worker thread) -> front-desk agent (streamed tokens)
        -> sentence chunker -> Piper (worker thread) -> playout -> SIP frames

The conductor runs on the event loop. PJSUA2 threads only touch it through the `CallEvents` methods, which
hand frames over with `call_soon_threadsafe` (in) or pop them from the playout deque (out).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable

from brain.switchboard import Directory, TransferRequest
from employai.runtime.answers import Answer
from employai.runtime.call_clock import CallClock, until_answered
from employai.runtime.call_context import CallContext, opening_line
from employai.runtime.call_keys import CallKeys
from employai.runtime.call_record import CallRecord
from employai.runtime.conversation import greeting, new_turn_policy
from employai.runtime.cpu import FINISHED_TURN, URGENCY, Pending, Urgency
from employai.runtime.engines import Engines, canned_lines
from employai.runtime.inbound import InboundFrames
from employai.runtime.listening import Listener
from employai.runtime.metrics import CallMetrics
from employai.runtime.speaker import Speaker, SpokenTurn, once
from employai.runtime.timing import bot_turn_timing, caller_timing, log_turn
from employai.runtime.transcription import CallTranscriber
from employai.runtime.transfer_desk import TransferDesk
from employai.runtime.transfers import Dial, Transfers
from employai.runtime.turn_policy import TurnPolicy
from memory.caller_memory import CallerMemory
from memory.transcripts import TranscriptStore
from sip_config import Config
from sip_config.schema import DirectoryEntry
from speech.playout import Playout
from speech.stt import Transcript
from speech.vad import SpeechPaused, SpeechResumed, SpeechStarted, TurnEnded
from telephony import CallHandle

log = logging.getLogger(__name__)

MAX_TURN_CHARS = 600  # what one reply answers, at most (words carried over from replies cut off unheard included)


class CallConductor:
    def __init__(self, config: Config, engines: Engines, store: TranscriptStore, handle: CallHandle | None,
                 context: CallContext, loop: asyncio.AbstractEventLoop, directory: Directory | None = None,
                 dial: Dial | None = None, busy: bool = False, metrics: CallMetrics | None = None):
        self.busy = busy  # over capacity: the caller hears that the lines are busy, then a goodbye (BYE)
        self._config, self._engines, self._store = config, engines, store
        self._handle, self.context, self._loop = handle, context, loop
        self._directory = directory if directory is not None else Directory(config.transfer)
        self._keys = CallKeys(config.dtmf, loop, self._keyed_number, self._shortcut)
        self._transfers = Transfers(handle, loop, config.transfer.notify_timeout_s) if handle is not None else None
        self._switch = TransferDesk(self._directory, engines.synthesizer, dial, config.transfer, config.profile.name)
        self._transfer_task: asyncio.Task | None = None
        self._transfer_request = TransferRequest(self._directory)  # the model's `transfer_call` tool fills it
        audio = config.audio
        self.playout = Playout(echo_tail_ms=audio.echo_tail_ms)
        self._speaker = Speaker(engines.synthesizer, self.playout, config.llm.max_reply_sentences)
        self._listener = Listener(audio)
        self._inbound = InboundFrames()  # the caller's audio, bounded, with the end of the call always kept
        self._stt = CallTranscriber(engines.transcriber, loop)  # at most one transcription in flight per call
        self._record = CallRecord(store, context, loop, metrics)  # the call's record, whose memory it may touch
        self._identity = self._record.identity
        self._answered = asyncio.Event()
        self._ended = asyncio.Event()
        self._turn_task: asyncio.Task | None = None
        self._prepared: tuple[bytes, asyncio.Future, SpokenTurn, Pending] | None = None
        self._unanswered: list[str] = []
        self._turn_ids = 0
        self._clock = CallClock(config.call, self._busy, self._prompt_silent_caller, self.finish)
        self.call_id: int | None = None
        self._policy = self._new_policy(self._record.memory)  # anonymous until the record opens
        self.end_reason: str | None = None
        self.answered = False
        self.final_status = 0  # the SIP status the call ended with
        self.caller_turns = 0

    @property
    def memory(self) -> CallerMemory:
        return self._policy.memory

    def attach(self, handle: CallHandle) -> None:
        """The handle of a call we placed (known only once the call is made with this conductor as its events)."""
        self._handle = handle
        self._transfers = Transfers(handle, self._loop, self._config.transfer.notify_timeout_s)

    # --- CallEvents: called on PJSUA2 threads, must return at once ---------------------------------------

    def on_audio_frame(self, pcm: bytes) -> None:
        self._loop.call_soon_threadsafe(self._inbound.put, (pcm, time.monotonic()))

    def next_audio_frame(self) -> bytes | None:
        return self.playout.next_frame()

    def on_answered(self) -> None:
        self._loop.call_soon_threadsafe(self._answered.set)

    def on_dtmf(self, digit: str) -> None:
        self._loop.call_soon_threadsafe(self._on_key, digit)

    def on_transfer_status(self, status: int, reason: str, final: bool) -> None:
        if self._transfers is not None:
            self._transfers.on_status(status, reason, final)

    def on_ended(self, reason: str, status: int) -> None:
        self.final_status = status
        self._loop.call_soon_threadsafe(self._on_ended)

    # --- the call, on the event loop ------------------------------------------------------------------------

    async def run(self) -> None:
        """The whole call. Whatever fails inside it ends this call cleanly (BYE, record closed), not the bot."""
        if not await self._wait_answered():
            return
        try:
            await self._converse()
        except Exception:
            log.exception("the call failed; hanging up")
            self.end_reason = self.end_reason or "error"
            if not self._ended.is_set():
                self._hang_up()
        finally:
            await self._record.close(self.end_reason or "caller_hangup")

    async def _wait_answered(self) -> bool:
        ring_s = self._config.outbound.ring_timeout_s if self.context.direction == "outbound" else 30
        self.answered = await until_answered(self._answered, self._ended, ring_s, self._give_up)
        return self.answered

    def _give_up(self) -> None:
        self.end_reason = "no_answer"
        self._hang_up(408)  # CANCEL for a call we placed

    def _new_policy(self, memory: CallerMemory) -> TurnPolicy:
        return new_turn_policy(self._config, self._engines.model_client, self._engines.understanding, memory,
                               self.call_id, self._directory, self._record.write, self._identity,
                               self.context.block(), self._transfer_request, self._record.verified_name)

    def _bind_memory(self, memory: CallerMemory) -> None:
        """Memory for whoever the call is known to be now (unknown: remembers nothing); the dialogue goes on."""
        self._policy.rebind(memory, self._new_policy(memory).desk)
        self._policy.call_id = self.call_id

    def _hang_up(self, status: int = 200) -> None:
        if self._handle is not None:
            self._handle.hangup(status)

    async def _converse(self) -> None:
        self.call_id = await self._record.open()
        self._bind_memory(self._record.memory)
        if self.busy:
            self._closing = asyncio.create_task(self.finish("busy", "busy"))
        else:
            self._start_turn(self._greet)
        timers = asyncio.create_task(self._clock.run(self._ended))
        try:
            while (item := await self._inbound.get()) is not None:
                self._on_frame(*item)
        finally:
            timers.cancel()
            self._keys.close()
            if self._transfer_task is not None:
                self._transfer_task.cancel()
            if self._turn_task is not None:
                self._turn_task.cancel()
                await asyncio.gather(self._turn_task, return_exceptions=True)

    def _on_ended(self) -> None:
        self._ended.set()
        self._inbound.end()

    def _on_frame(self, frame: bytes, t: float) -> None:
        for event in self._listener.hear(frame, t, self.playout.speaking, self.playout.recent_peak()):
            log.debug("vad event", extra={"event": type(event).__name__, "at": round(t, 3)})
            if isinstance(event, SpeechStarted):
                self._clock.activity(caller=True)
                if self._turn_task is not None and not self._turn_task.done():
                    self._barge_in()
            elif isinstance(event, SpeechPaused):
                self._prepare_reply(event.pcm, event.speech_end)
            elif isinstance(event, SpeechResumed):
                self._abandon_prepared()
            elif isinstance(event, TurnEnded):
                self._end_caller_turn(event.pcm, event.speech_end)

    def _prepare_reply(self, pcm: bytes, speech_end: float) -> None:
        """The caller paused: transcribe and prepare the reply now, held back until the pause proves to be
        the end of the turn. This hides transcription, the first tokens and the first synthesis behind the
        end-of-turn silence (what LiveKit calls preemptive generation)."""
        pending = Pending()  # speculative work for the CPU lanes until the pause proves to be the end of the turn
        stt = self._transcribe(pcm, pending)
        self.playout.held = True
        turn = self._start_turn(lambda t: self._reply(stt, t), caller_turn=(stt, speech_end), speculative=True)
        self._prepared = (pcm, stt, turn, pending)

    def _abandon_prepared(self) -> None:
        """The caller went on talking: drop the prepared reply unheard (its clean-up restores the history)."""
        if self._prepared is not None and self._turn_task is not None:
            self._turn_task.cancel()
        self._prepared = None
        self.playout.clear()
        self.playout.held = False

    def _end_caller_turn(self, pcm: bytes, speech_end: float) -> None:
        prepared, self._prepared = self._prepared, None
        if prepared is not None and prepared[0] == pcm:
            _, stt, turn, pending = prepared
            turn.speculative, pending.final = False, True
        else:
            if prepared is not None and self._turn_task is not None:
                self._turn_task.cancel()
            stt = self._transcribe(pcm)
            self._start_turn(lambda t: self._reply(stt, t), caller_turn=(stt, speech_end))
        stt.add_done_callback(lambda f: self._caller_turn_heard(f, speech_end))
        self.playout.held = False

    def _transcribe(self, pcm: bytes, urgency: Urgency = FINISHED_TURN) -> asyncio.Future:
        return self._stt.start(pcm, self._policy.expects, urgency)  # a number, after the bot asked for one

    def _barge_in(self) -> None:
        self.playout.clear()
        if self._turn_task is not None:
            self._turn_task.cancel()

    # --- bot turns ---------------------------------------------------------------------------------------------

    def _start_turn(self, produce: Callable[[SpokenTurn], Awaitable[None]],
                    caller_turn: tuple[asyncio.Future, float] | None = None, speculative: bool = False) -> SpokenTurn:
        self._turn_ids += 1
        turn = SpokenTurn(turn_id=self._turn_ids, speculative=speculative)
        context = contextvars.copy_context()  # the turn's model work is as urgent as the turn (see cpu.py)
        context.run(URGENCY.set, turn)
        self._turn_task = asyncio.create_task(self._bot_turn(produce, turn, caller_turn), context=context)
        return turn

    async def _bot_turn(self, produce, turn: SpokenTurn, caller_turn) -> None:
        """Run one bot turn to its end, or to a barge-in; record what the caller heard either way."""
        interrupted = False
        try:
            await produce(turn)
            await self._speaker.wait_played(turn)
        except asyncio.CancelledError:
            interrupted = True
            self.playout.clear()
            raise
        except Exception:
            log.exception("engine failure during a turn; apologising")
            self.playout.clear()
            turn = SpokenTurn(turn_id=turn.turn_id)
            await self._speaker.say_pcm(self._engines.canned["apology"], self._config.call.apology_text, turn)
            await self._speaker.wait_played(turn)
        finally:
            spoken = turn.heard() if interrupted else turn.text()
            if spoken:
                answer = turn.answer if isinstance(turn.answer, Answer) else Answer("prompt", spoken)
                self._keys.expect(spoken, number=answer.expects_number)
                await asyncio.shield(self._heard(answer, spoken))
                timing = bot_turn_timing(turn, caller_turn)
                self._record.bot_said(spoken, interrupted, timing)
                log_turn(timing, interrupted)
            elif turn.checkpoint is not None:
                # Abandoned unheard: nothing it would have done happens, and what the caller said still wants an
                # answer (unless the caller went on talking, and the longer utterance supersedes it).
                await asyncio.shield(self._policy.rollback(turn.checkpoint))
                carry = turn.carried if turn.speculative else [turn.caller_text]
                self._unanswered[:0] = [text for text in carry if text]
            self._clock.activity()

    async def _heard(self, answer: Answer, spoken: str) -> None:
        await self._policy.heard(answer, spoken)
        if answer.erase:  # erased at the caller's request: nothing more is remembered of them on this call
            self._record.forget_caller()
            self._bind_memory(self._record.memory)

    async def _greet(self, turn: SpokenTurn) -> None:
        text = opening_line(self.context, self._config.profile, greeting(self._config, self._policy.memory),
                            self._config.outbound.intro_text)
        if text == self._config.profile.greeting:
            await self._speaker.say_pcm(self._engines.canned["greeting"], text, turn)
        else:  # by name: synthesised now (and cached)
            await self._speaker.speak(once(text), turn)

    def _caller_turn_heard(self, stt: asyncio.Future, speech_end: float) -> None:
        """Record the caller's turn once it is both over and transcribed, whatever happens to the reply."""
        self.caller_turns += self._record.caller_heard(stt, caller_timing(speech_end, time.monotonic()))

    async def _reply(self, stt: asyncio.Future, turn: SpokenTurn) -> None:
        transcript: Transcript = await stt  # an engine failure raises here, and the caller hears an apology
        turn.transcript_ready = time.monotonic()
        await self._record.flush()  # the facts the caller just gave are in memory before the reply reads it
        # Everything the caller said since the last reply (a reply cut off unheard leaves its words here).
        turn.carried, self._unanswered = self._unanswered, []
        turn.caller_text = " ".join([*turn.carried, transcript.text]).strip()[-MAX_TURN_CHARS:]
        turn.checkpoint = await self._policy.checkpoint()
        if not turn.caller_text:
            return
        self._transfer_request.take()  # a request from a reply prepared and dropped is not this turn's
        await self._deliver(await self._policy.answer(turn.caller_text, transcript.unsure), turn)

    async def _deliver(self, answer: Answer, turn: SpokenTurn) -> None:
        """Say the answer; once it is heard, do what it does: transfer, bind a verified caller, hang up."""
        turn.answer = answer
        log.debug("turn answered", extra={"step": answer.step})
        await self._speaker.speak(answer.pieces(), turn, whole=answer.stream is None)
        entry = answer.transfer_to or self._transfer_request.take()  # or the model's `transfer_call` tool
        if entry is None and not answer.hang_up and not answer.verified_now:
            return
        await self._speaker.wait_played(turn)  # a reply prepared and dropped unheard does nothing
        if answer.verified_now:
            self._bind_memory(await self._record.bind_verified_caller())
        if entry is not None and not self._ended.is_set():
            if not turn.text().strip():
                await self._speaker.speak(once(self._config.transfer.announce_text.format(name=entry.name)), turn)
                await self._speaker.wait_played(turn)
            self._transfer_task = asyncio.create_task(self._transfer_to(entry))
        if answer.hang_up and not self._ended.is_set():
            self.end_reason = "closed"
            self._hang_up()

    # --- keys and transfers: what they mean for this call ------------------------------------------------------

    def _on_key(self, key: str) -> None:
        if self.call_id is None or self._ended.is_set():
            return
        self._keys.press(key, secret=self._identity.expecting_pin)

    def _keyed_number(self, text: str) -> None:
        """Digits keyed as the answer to a question count as if the caller had said the number."""
        self._clock.activity()
        stt: asyncio.Future = self._loop.create_future()
        stt.set_result(Transcript(text))
        self._barge_in()
        self._start_turn(lambda t: self._reply(stt, t), caller_turn=(stt, time.monotonic()))
        self._caller_turn_heard(stt, time.monotonic())

    def transfer(self, name: str) -> bool:
        """The operator puts the caller through (the console), as the caller's shortcut key does: a directory entry."""
        return self.call_id is not None and not self._ended.is_set() and self._shortcut(name)

    def _shortcut(self, name: str) -> bool:
        entry = self._directory.by_name(name)
        if entry is None:
            return False
        self._clock.activity()
        self._barge_in()
        announce = self._config.transfer.announce_text.format(name=entry.name)
        self._start_turn(lambda turn: self._deliver(Answer("transfer", announce, transfer_to=entry), turn))
        return True

    async def _transfer_to(self, entry: DirectoryEntry) -> None:
        """Put the caller through; if that fails, tell them (and offer a message when nobody answered)."""
        if self._transfers is None:
            return
        done = await self._switch.put_through(entry, self._transfers,
                                              lambda: self._record.who_is_calling(self.memory))
        self._record.annotate(transferred_to=f"{entry.name} <{done.uri}> ({done.outcome} {done.status})")
        if done.outcome == "joined":
            self.end_reason = "transferred"
            self._hang_up()
            return
        self._policy.offer_message(entry.name)  # both lines offer one: "Can I take a message?"
        text = done.say(self._config.transfer, entry.name)
        self._start_turn(lambda turn: self._deliver(Answer("transfer", text), turn))

    def _busy(self) -> bool:
        return self._listener.in_speech or (self._turn_task is not None and not self._turn_task.done())

    def _prompt_silent_caller(self) -> None:
        call = self._config.call
        self._start_turn(lambda turn: self._speaker.say_pcm(self._engines.canned["silence_prompt"],
                                                            call.silence_prompt_text, turn))

    async def finish(self, line: str, reason: str) -> None:
        """Say a last canned line, then hang up (bounded: a stuck playout cannot hold the call open)."""
        if self.end_reason is not None or self._ended.is_set():
            return
        self.end_reason = reason
        self._abandon_prepared()
        if self._turn_task is not None and not self._turn_task.done():
            self._barge_in()
            await asyncio.gather(self._turn_task, return_exceptions=True)
        turn = SpokenTurn(turn_id=self._turn_ids + 1)
        text = canned_lines(self._config)[line]
        await self._speaker.say_pcm(self._engines.canned[line], text, turn)
        try:
            await asyncio.wait_for(self._speaker.wait_played(turn), timeout=10)
        except TimeoutError:
            pass
        if self.call_id is not None and turn.heard():
            self._record.bot_said(turn.heard(), interrupted=not turn.played_out)
        self._hang_up()

