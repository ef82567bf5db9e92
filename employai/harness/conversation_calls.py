"""Scripted dialogues played over the telephone path, and what the bot's database recorded of each call.

The caller's turns are spoken by flite voices (slt, rms; cached WAVs) or taken from the shared human recordings, or
keyed (DTMF); asked to say a turn again, the caller says it again a little slower. One dialogue is one call placed
by `employai dial` in its own process (PJSUA2 holds one endpoint per process), offering only PCMU or PCMA, so the
audio really is 8 kHz G.711. Afterwards the bot's database says what it heard and replied per caller turn (a
caller's answer to the bot's check of what it heard, "Sales, is that right?", counted with the turn it checked; see
`script.check_for`), the forms and messages it stored, the transfer it attempted and how the call ended; the dialer
says whether the bot hung up (BYE).

Blocking: each call to `play` runs one call to its end; several may run at once from different threads
(the voice cache writes each file whole, under its final name last).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from employai.harness.dialogues.script import Dialogue, Expect, Turn, check_for
from employai.harness.launcher import BotProcess, free_port
from speech.pcm import normalize_peak, read_wav, write_wav

SHARED_SPEECH = Path(__file__).resolve().parents[3] / "shared" / "eval" / "speech"
TURN_TIMEOUT_S = 30.0  # a turn's budget in the dialer: the caller's speech, the reply, the quiet after it
LINGER_S = 8.0  # after a last turn that should end the call: how long the caller waits for the BYE
RECORD_WAIT_S = 15.0  # how long the bot may take to close the call's record after the call
AGAIN_STRETCH = 1.2  # a turn said again, when the bot asks to hear it again: this much slower


@dataclass(frozen=True)
class StoredForm:
    name: str
    values: dict[str, str]


@dataclass(frozen=True)
class PlayedTurn:
    heard: str  # what the bot transcribed of the caller's turn
    reply: str  # what the bot said after it (until the next caller turn)
    latency_s: float | None  # voice to voice, on the caller's side
    kind: str  # "speech" or "keys"
    checks: int = 0  # the bot checked what it heard this many times, and the caller answered (in heard / reply)


@dataclass(frozen=True)
class DialogueCall:
    user: str  # the caller's SIP user: one per dialogue, so no dialogue's memory leaks into another
    greeting: str
    turns: tuple[PlayedTurn, ...]  # the turns played: fewer than scripted when the call ended early
    ended_by: str  # "bot" (BYE from the bot), "caller", or "" when the test caller failed
    end_reason: str
    transferred_to: str
    forms: tuple[StoredForm, ...]
    messages: tuple[str, ...]  # message tasks outside forms (followups of kind 'message')
    error: str = ""


class CallerVoices:
    """Caller audio as 16 kHz WAVs, made once and kept in `cache`."""

    def __init__(self, cache: Path, speech_dir: Path = SHARED_SPEECH):
        self._cache, self._speech = cache, speech_dir
        cache.mkdir(parents=True, exist_ok=True)

    def wav(self, turn: Turn, voice: str, again: bool = False) -> Path:
        """The turn spoken; `again`: said again when asked to, a little slower, as people do (a recording: as is)."""
        if turn.recording and (self._speech / turn.recording).exists():
            path = self._cache / f"human-{Path(turn.recording).stem}.wav"
            if not path.exists():
                partial = path.with_suffix(f".{threading.get_ident()}.part.wav")
                write_wav(partial, normalize_peak(read_wav(self._speech / turn.recording), 0.7))
                partial.replace(path)
            return path
        digest = hashlib.sha1(turn.text.encode()).hexdigest()[:12]
        path = self._cache / f"{voice}-{digest}{'-again' if again else ''}.wav"
        if not path.exists():
            partial = path.with_suffix(f".{threading.get_ident()}.part.wav")  # callers may share the cache
            slower = ["--setf", f"duration_stretch={AGAIN_STRETCH}"] if again else []
            subprocess.run(["flite", "-voice", voice, *slower, "-t", turn.text, "-o", str(partial)], check=True,
                           timeout=60, capture_output=True)
            partial.replace(path)
        return path


def play(bot: BotProcess, dialogue: Dialogue, user: str, voices: CallerVoices, workdir: Path) -> DialogueCall:
    """One call: the dialogue's turns played to the bot, then the bot's record of the call read back."""
    since = time.time()
    try:
        results, summary = _dial(bot, dialogue, user, voices, workdir)
    except RuntimeError as exc:
        return DialogueCall(user, "", (), "", "", "", (), (), error=str(exc))
    row = _call_row(bot, user, since)
    if row is None:
        return DialogueCall(user, "", (), summary.get("ended_by", ""), "", "", (), (),
                            error="the bot recorded no call")
    with closing(bot.db()) as db:
        # A reply belongs to the turn during which it began to play (a long one may be recorded only after the
        # caller's next turn has begun); lines without timing (the greeting, canned lines) by when they were said.
        turns = db.execute("SELECT role, text, COALESCE(first_frame, created_at) AS at FROM turns WHERE call_id = ?"
                           " ORDER BY id", (row["id"],)).fetchall()
        forms, messages = stored_forms(db, row["id"])
    starts = [r["started_at"] for r in results]
    played: list[PlayedTurn] = []
    for i, result in enumerate(results):
        low, high = starts[i], starts[i + 1] if i + 1 < len(starts) else float("inf")
        said = [t for t in turns if low <= t["at"] < high]
        turn = PlayedTurn(" ".join(t["text"] for t in said if t["role"] == "caller"),
                          " ".join(t["text"] for t in said if t["role"] == "bot"),
                          result["latency_s"], result.get("kind", "speech"))
        if result.get("answers_check") and played:  # the caller's answer to a check: part of the scripted turn
            before = played.pop()
            turn = PlayedTurn(f"{before.heard} / {turn.heard}", f"{before.reply} / {turn.reply}", before.latency_s,
                              before.kind, before.checks + 1)
        played.append(turn)
    first = starts[0] if starts else float("inf")
    greeting = " ".join(t["text"] for t in turns if t["role"] == "bot" and t["at"] < first)
    return DialogueCall(user, greeting, tuple(played), summary.get("ended_by", ""), row["end_reason"] or "",
                        row["transferred_to"] or "", forms, messages)


def _dial(bot: BotProcess, dialogue: Dialogue, user: str, voices: CallerVoices,
          workdir: Path) -> tuple[list[dict], dict]:
    timeout = TURN_TIMEOUT_S * len(dialogue.turns) + 30
    linger = LINGER_S if dialogue.turns and dialogue.turns[-1].expect.hangs_up else 0.0
    cmd = [sys.executable, "-m", "employai", "dial", bot.uri, "--record", str(workdir / f"heard-{user}.wav"),
           "--codec", dialogue.codec, "--timeout", str(timeout), "--json", "--user", user, "--linger", str(linger)]
    for turn in dialogue.turns:
        cmd += ["--keys", turn.keys] if turn.keys else ["--play", str(voices.wav(turn, dialogue.voice))]
    listening = []
    for index, turn in enumerate(dialogue.turns):
        if turn.keys:
            continue
        again = {"again": str(voices.wav(turn, dialogue.voice, again=True))}
        check = check_for(dialogue.turns, index)
        if check is None:
            listening.append({"turn": index, **again})
            continue
        said = {key: str(voices.wav(Turn(text, Expect("")), dialogue.voice)) if text else ""
                for key, text in (("yes", check.yes), ("no", check.no))}
        fixes = [[fix.part, fix.right, str(voices.wav(Turn(fix.say, Expect("")), dialogue.voice))]
                 for fix in check.fixes]
        listening.append({"turn": index, "asks": check.asks, "right": check.right, "digits": check.digits,
                          "keys": check.keys, "fixes": fixes, **said, **again})
    if listening:
        checks = workdir / f"checks-{user}.json"
        checks.write_text(json.dumps(listening))
        cmd += ["--listen", str(checks)]
    out = None
    for _attempt in range(2):  # one retry: a lost call set-up is not the conversation's failure
        port = ["--port", str(free_port())]
        out = subprocess.run(cmd + port, capture_output=True, text=True, timeout=timeout + 60,
                             stdin=subprocess.DEVNULL)
        turns = [line for line in out.stdout.splitlines() if line.startswith("[")]
        summary = [line for line in out.stdout.splitlines() if line.startswith("{")]
        if turns and summary:
            return json.loads(turns[-1]), json.loads(summary[-1])
    detail = (out.stderr.strip().splitlines() or ["(no output)"])[-1][-300:] if out is not None else ""
    raise RuntimeError(f"the test caller failed: {detail}")


def _call_row(bot: BotProcess, user: str, since: float) -> sqlite3.Row | None:
    """The dialogue's call, once the bot has closed its record."""
    deadline = time.monotonic() + RECORD_WAIT_S
    row = None
    while time.monotonic() < deadline:
        with closing(bot.db()) as db:
            row = db.execute("SELECT * FROM calls WHERE claimed_user = ? AND started_at >= ? ORDER BY id DESC"
                             " LIMIT 1", (user, since - 5)).fetchone()
        if row is not None and row["ended_at"] is not None:
            return row
        time.sleep(0.3)
    return row


def stored_forms(db: sqlite3.Connection, call_id: int) -> tuple[tuple[StoredForm, ...], tuple[str, ...]]:
    """The forms stored on a call (follow-ups of kind 'form': the form's name, its fields as JSON details; see
    memory/forms.py) and the message tasks left outside forms (kind 'message')."""
    have = {r[1] for r in db.execute("PRAGMA table_info(followups)")}
    if not have:
        return (), ()
    details = "details" if "details" in have else "NULL"
    forms: list[StoredForm] = []
    messages: list[str] = []
    for kind, request, raw in db.execute(f"SELECT kind, request, {details} FROM followups WHERE call_id = ?"
                                         " ORDER BY id", (call_id,)).fetchall():
        if kind == "message":
            messages.append(request)
        elif kind == "form":
            try:
                values = json.loads(raw or "{}").get("values", {})
            except (ValueError, AttributeError):
                values = {}
            forms.append(StoredForm(request, {str(k): str(v) for k, v in values.items()}))
    return tuple(forms), tuple(messages)
