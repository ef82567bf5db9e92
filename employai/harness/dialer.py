"""`employai dial`: a scripted test caller in its own process (PJSUA2 allows one endpoint per process).

It waits for the greeting to end, says each question, and measures on the caller's side the time from the end
of its speech to the first audible frame of the reply (voice-to-voice latency), then waits for the reply to end.
A turn is a WAV to say or keys to press (`keys:5550107788#`, RFC 4733 events; `keys:info:...`, SIP INFO), keyed
at a person's pace. With `--json` it prints the turns as a JSON list, then one JSON object about the call: who
ended it (`bot`: the far end hung up before the script did) and how many turns were played.

The script runs on the main thread; PJSUA2 threads only append to and pop from the caller's deques.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sip_config.schema import SipSettings
from speech.pcm import FRAME_MS, RATE, frame_peak, read_wav, split_frames, write_wav
from telephony import SipAgent

AUDIBLE_PEAK = 1000  # about -30 dBFS
MAX_CHECKS = 3  # answers to the bot's checks after one turn (no, keys, yes)
EAR_ALIKE = 0.85  # a word the caller hears in a read-back "is" theirs this alike (as the bot's own sound match)
REPLY_END_SILENCE_S = 1.5
KEYS_PREFIX = "keys:"
KEY_PACE_S = 0.3  # between key presses (a person keying a number)
KEY_DURATION_MS = 160  # each RFC 4733 event


@dataclass
class TurnResult:
    question: str
    started_at: float  # wall clock, when the question began to play
    speech_end_at: float  # wall clock, when the caller's speech ended (as sent)
    latency_s: float | None  # None: no reply heard
    kind: str = "speech"  # "speech" (a WAV said) or "keys" (DTMF pressed)
    answers_check: bool = False  # said in answer to the bot's check of the turn before (see `Listening`)


@dataclass(frozen=True)
class Listening:
    """After turn `turn`, the caller listens to the reply: if it asks a check (`asks`), the caller says `yes` when
    the reply matches `right`, else `no` (a WAV each; no `yes`: the script's next turn answers it). A reply that
    asks for the keypad (`keypad`) is answered with `keys`, when there are keys for it; one that asks to hear the
    turn again (`again_asked`), with `again`; one that asks which part to change (`which_asked`) after a
    correction, with that correction again (once), as a person asked "which part?" says it again. At most
    `MAX_CHECKS` answers a turn. The reply is heard as a person
    hears it: through the line, transcribed."""

    turn: int
    asks: str = ""  # "": the turn is not checked (only `again` applies)
    right: str = ""
    no: str = ""
    yes: str = ""
    digits: bool = False
    keys: str = ""  # the number as keyed (with the terminator), for a bot that asks for the keypad
    keypad: str = r"key ?pad"  # what makes a reply ask for the keypad
    again: str = ""  # the turn said again (a WAV), for a bot that asks to hear it again (once)
    again_asked: str = r"say (?:that|it) again|didn't (?:quite )?catch|repeat that"
    which_asked: str = r"which part"
    # A form read back: (part, right, WAV) each; the caller corrects the first part named with a value other than
    # theirs (`right` does not match) by saying the WAV, and the check is right when no part is wrong.
    fixes: Sequence[Sequence[str]] = ()


@dataclass(frozen=True)
class CallSummary:
    ended_by: str  # "bot": the far end hung up (BYE) before the script ended the call; else "caller"
    turns_played: int
    status: int  # the final SIP status PJSIP reported for the call (0: still up when the script ended it)


class ScriptedCaller:
    """CallEvents for the test caller: media-thread callbacks only append to and pop from deques."""

    def __init__(self) -> None:
        self.heard: list[tuple[float, bytes]] = []
        self._out: deque[bytes] = deque()
        self.out_drained_at = 0.0
        self.answered = threading.Event()
        self.ended = threading.Event()
        self.end_status = 0

    def on_audio_frame(self, pcm: bytes) -> None:
        self.heard.append((time.monotonic(), pcm))

    def next_audio_frame(self) -> bytes | None:
        try:
            frame = self._out.popleft()
        except IndexError:
            return None
        if not self._out:
            self.out_drained_at = time.monotonic()
        return frame

    def on_answered(self) -> None:
        self.answered.set()

    def on_dtmf(self, digit: str) -> None:
        pass

    def on_transfer_status(self, status: int, reason: str, final: bool) -> None:
        pass

    def on_ended(self, reason: str, status: int) -> None:
        self.end_status = status
        self.ended.set()

    # --- the script, on the main thread -------------------------------------------------------------------

    def say(self, pcm: bytes) -> None:
        self._out.extend(split_frames(pcm))

    @property
    def saying(self) -> bool:
        return bool(self._out)

    def first_audible_after(self, t: float) -> float | None:
        for at, frame in self.heard:
            if at >= t and frame_peak(frame) > AUDIBLE_PEAK:
                return at
        return None

    def wait_quiet(self, since: float, quiet_s: float, deadline: float) -> None:
        """Wait until nothing audible has arrived for `quiet_s` after something audible did (or the deadline)."""
        while time.monotonic() < deadline and not self.ended.is_set():
            time.sleep(0.05)
            last = next((at for at, f in reversed(self.heard) if at >= since and frame_peak(f) > AUDIBLE_PEAK),
                        None)
            if last is not None and time.monotonic() - last >= quiet_s:
                return


def speech_tail_s(samples: np.ndarray) -> float:
    """Seconds after the last voiced frame (webrtcvad, strictest mode): latency counts from the end of speech."""
    import webrtcvad

    vad = webrtcvad.Vad(3)
    frames = split_frames(samples.astype(np.int16).tobytes())
    quiet = 0
    for frame in reversed(frames):
        if vad.is_speech(frame, RATE):
            break
        quiet += 1
    return quiet * FRAME_MS / 1000


def _the_bot_under_test(uri: str, purpose: str) -> None:
    """The test caller's dial gate: it calls whatever bot URI its operator gave it (a harness, not the product)."""


def _press_keys(agent: SipAgent, call_id: int, spec: str) -> None:
    """Key `spec` ("5550107788#", or "info:123#" for SIP INFO) one key at a time, at a person's pace."""
    import pjsua2 as pj

    info = spec.startswith("info:")
    method = pj.PJSUA_DTMF_METHOD_SIP_INFO if info else pj.PJSUA_DTMF_METHOD_RFC2833

    def send(key: str) -> None:
        call = agent._lookup(call_id)  # the test caller's own call, on the SIP thread
        if call is None or call.ended:
            return
        prm = pj.CallSendDtmfParam()
        prm.digits, prm.method, prm.duration = key, method, KEY_DURATION_MS
        call.sendDtmf(prm)

    for key in spec.removeprefix("info:"):
        agent.submit(functools.partial(send, key)).result(timeout=5)
        time.sleep(KEY_PACE_S)


def _play_turn(agent: SipAgent, call_id: int, caller: ScriptedCaller, turn: str, deadline: float) -> TurnResult:
    started_at = time.time()
    if turn.startswith(KEYS_PREFIX):
        _press_keys(agent, call_id, turn.removeprefix(KEYS_PREFIX))
        speech_end, kind = time.monotonic(), "keys"
    else:
        samples = read_wav(turn, RATE)
        caller.say(samples.tobytes())
        while caller.saying and not caller.ended.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)
        speech_end, kind = caller.out_drained_at - speech_tail_s(samples), "speech"
    caller.wait_quiet(max(speech_end, caller.out_drained_at), REPLY_END_SILENCE_S,
                      min(deadline, time.monotonic() + 20))
    first = caller.first_audible_after(speech_end)
    latency = None if first is None else first - speech_end
    speech_end_at = time.time() - (time.monotonic() - speech_end)
    return TurnResult(str(turn), started_at, speech_end_at, latency, kind)


class _Ears:
    """Whisper (the configured model, loaded on first use), hearing the bot's replies as the caller does."""

    def __init__(self) -> None:
        self._transcriber: Any = None

    def hear(self, caller: ScriptedCaller, since: float, digits: bool) -> str:
        if self._transcriber is None:
            from employai.runtime.engines import load_transcriber
            from sip_config import load_config

            self._transcriber = load_transcriber(load_config())
        pcm = b"".join(frame for at, frame in caller.heard if at >= since)
        return str(self._transcriber.transcribe(pcm, "digits" if digits else "").text)


def judged(listening: Listening, reply: str) -> tuple[bool, str]:
    """Whether the bot's check (`reply`, as heard) has the turn right, and what the caller says when not. A part of
    a read-back is right when its value is there, or a word that sounds like it: a person knows their own name and
    street when they hear them, and the caller's ear (tiny.en over the line) spells them as it likes."""
    if not listening.fixes:
        return bool(re.search(listening.right, reply, re.IGNORECASE)), listening.no
    heard = re.findall(r"[a-z]+", reply.lower())
    wrong = next((say for part, right, say in listening.fixes
                  if re.search(part, reply, re.IGNORECASE) and not re.search(right, reply, re.IGNORECASE)
                  and not _sounds_in(right, heard)), "")
    return not wrong, wrong


def _sounds_in(pattern: str, heard: list[str]) -> bool:
    """Whether a word of the pattern's alternatives ("priya|shah") sounds like a word heard ("pria")."""
    from brain.phonetic import sound_similarity  # the product's sound key, used as the caller's own ear

    meant = [w for w in re.findall(r"[a-z]+", pattern.lower()) if len(w) >= 3]
    return any(sound_similarity(h, m) >= EAR_ALIKE for m in meant for h in heard)


def _answer_checks(agent: SipAgent, call_id: int, caller: ScriptedCaller, listening: Listening, said: TurnResult,
                   deadline: float, ears: _Ears) -> list[TurnResult]:
    """The caller's answers to the bot's checks of what it heard in the turn just played (none when it did not
    check)."""
    answers: list[TurnResult] = []
    again = listening.again
    correction = ""  # the last correction said, until the bot has asked which part it was about
    for _ in range(MAX_CHECKS):
        if caller.ended.is_set() or time.monotonic() >= deadline:
            break
        since = time.monotonic() - (time.time() - said.speech_end_at)
        reply = ears.hear(caller, since, listening.digits)
        answer = ""
        if listening.keys and re.search(listening.keypad, reply, re.IGNORECASE):
            answer = KEYS_PREFIX + listening.keys
        elif again and re.search(listening.again_asked, reply, re.IGNORECASE):
            answer, again = again, ""  # said again once; asked again after that, the script goes on
        elif correction and re.search(listening.which_asked, reply, re.IGNORECASE):
            answer, correction = correction, ""
        if answer:
            said = _play_turn(agent, call_id, caller, answer, deadline)
            said.answers_check = True
            answers.append(said)
            continue
        if not listening.asks or not re.search(listening.asks, reply, re.IGNORECASE):
            break
        right, no = judged(listening, reply)
        if right and not listening.yes:
            break
        said = _play_turn(agent, call_id, caller, listening.yes if right else no, deadline)
        said.answers_check = True
        answers.append(said)
        if right:
            break
        correction = no if listening.fixes else ""
    return answers


def dial(uri: str, turns: list[str], port: int, codec: str, timeout: float, user: str = "tester",
         linger_s: float = 0.0, listening: Sequence[Listening] = ()) -> tuple[list[TurnResult], bytes, CallSummary]:
    """Call `uri`, play the turns (a WAV path, or `keys:DIGITS`), then wait up to `linger_s` for the far end to
    hang up. Stops early when the far end hangs up. `listening`: after which turns the caller answers the bot's
    checks."""
    settings = SipSettings(port=port, transports=("udp",), user=user, rtp_port=42000, codecs=(codec,),
                           max_calls=2, log_level=0)
    agent = SipAgent(settings, dial_gate=_the_bot_under_test)
    caller = ScriptedCaller()
    results: list[TurnResult] = []
    agent.start()
    try:
        handle = agent.make_call(uri, caller, purpose="scheduled")
        deadline = time.monotonic() + timeout
        if not caller.answered.wait(min(timeout, 15)):
            raise RuntimeError("the call was not answered")
        caller.wait_quiet(time.monotonic(), REPLY_END_SILENCE_S, min(deadline, time.monotonic() + 15))
        checks = {listen.turn: listen for listen in listening}
        ears = _Ears()
        for index, turn in enumerate(turns):
            if caller.ended.is_set() or time.monotonic() >= deadline:
                break
            results.append(_play_turn(agent, handle.call_id, caller, turn, deadline))
            if index in checks:
                results += _answer_checks(agent, handle.call_id, caller, checks[index], results[-1], deadline, ears)
        caller.ended.wait(max(0.0, min(linger_s, deadline - time.monotonic())))
        ended_by = "bot" if caller.ended.is_set() else "caller"
        agent.submit(lambda: None).result(timeout=5)
    finally:
        agent.stop()
    summary = CallSummary(ended_by, len(results), caller.end_status)
    return results, b"".join(frame for _, frame in caller.heard), summary


def run_dial(args) -> int:
    listening = []
    if getattr(args, "listen", None):
        with open(args.listen) as file:
            listening = [Listening(**item) for item in json.load(file)]
    results, heard, summary = dial(args.uri, args.play, args.port, args.codec, args.timeout,
                                   getattr(args, "user", "tester"), getattr(args, "linger", 0.0), listening)
    write_wav(args.record, heard)
    if args.json:
        print(json.dumps([r.__dict__ for r in results]))
        print(json.dumps(summary.__dict__))
    else:
        for r in results:
            latency = "no reply" if r.latency_s is None else f"{r.latency_s * 1000:.0f} ms"
            print(f"{r.question}: {latency}")
        print(f"call ended by the {summary.ended_by}")
    return 0 if all(r.latency_s is not None for r in results) else 1
