"""Call recordings (`[recording]`, off by default): one stereo WAV per call, the caller on the left and the bot on
the right, with an announcement played to the caller first.

`RecordedCall` stands between the SIP call and its conductor (it is the call's `CallEvents`): the media thread's
20 ms frames each way are copied to the call's `StereoWriter`, which pairs them in arrival order (both directions
are clocked by the same conference bridge, 50 frames a second) and writes them on a thread of its own. While the
announcement plays, the conductor's own audio waits (it is not pulled), so the caller hears it before the greeting.

A file is named `<call id>-<caller key>.wav`, the key an HMAC of the caller's number (verified, else claimed) under
a secret of the folder's own (`.key`, made at first use), so that "forget me" finds every recording of a caller
whose call records were anonymised (`forget_recordings`) while a file's name does not give the number away (a
plain hash of a phone number is undone by trying every number). Retention removes files older than
`memory.retention_days` (`prune_recordings`), at start and then every `memory.housekeeping_minutes` while the bot
runs, as does the sweep of recordings whose call record was anonymised elsewhere (`forget_erased`). The folder is
the owner's alone (0700, files 0600): recordings are personal data. At start, the files of calls cut off by a crash
(`.live-*`) are deleted: nothing says whose they are.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import queue
import secrets
import threading
import time
import wave
from collections import deque
from collections.abc import Callable
from itertools import count
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sip_config import Config
from speech.pcm import FRAME_BYTES, RATE, SILENCE_FRAME, split_frames

if TYPE_CHECKING:  # the operator's commands use the file functions without loading the SIP stack
    from telephony import CallEvents

log = logging.getLogger(__name__)


def recordings_dir(config: Config) -> Path:
    return Path(config.recording.dir or Path(config.data.dir) / "recordings").expanduser()


def private_folder(folder: Path) -> Path:
    """The recordings' folder, made (or kept) readable by its owner only."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    if folder.stat().st_mode & 0o077:
        os.chmod(folder, 0o700)
    return folder


def _secret(folder: Path) -> bytes:
    path = private_folder(folder) / ".key"
    try:
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
            out.write(secrets.token_bytes(32))
    except FileExistsError:
        pass
    return path.read_bytes()


def caller_key(folder: Path, user: str) -> str:
    """The caller's part of a file name: an HMAC of their number under the folder's secret ("anonymous": none)."""
    if not user:
        return "anonymous"
    return hmac.new(_secret(folder), user.encode(), hashlib.sha256).hexdigest()[:16]


def recording_path(folder: Path, call_id: int, user: str) -> Path:
    return folder / f"{call_id}-{caller_key(folder, user)}.wav"


def find_recording(folder: Path, call_id: int) -> Path | None:
    found = sorted(folder.glob(f"{call_id}-*.wav"))
    return found[0] if found else None


def forget_recordings(folder: Path, user: str) -> int:
    """Delete every recording of a caller; how many."""
    if not user or not folder.is_dir():
        return 0
    gone = 0
    for path in folder.glob(f"*-{caller_key(folder, user)}.wav"):
        path.unlink(missing_ok=True)
        gone += 1
    return gone


def prune_recordings(folder: Path, retention_days: float, now: float | None = None) -> int:
    """Delete recordings older than the retention period (0 keeps them); how many."""
    if retention_days <= 0 or not folder.is_dir():
        return 0
    cutoff = (now or time.time()) - retention_days * 86400
    old = [p for p in folder.glob("*.wav") if p.stat().st_mtime < cutoff]
    for path in old:
        path.unlink(missing_ok=True)
    return len(old)


def forget_erased(folder: Path, anonymised: Callable[[list[int]], set[int]]) -> int:
    """Delete the recordings of calls whose record was anonymised since ("forget me" said on a call that ended
    with the bot killed, or on another bot sharing the database): at start and at every housekeeping sweep
    (`employai/runtime/housekeeping.py`). `anonymised` is given the call ids of every file named after a caller at
    once (one look-up, `TranscriptStore.anonymised_calls`) and answers those whose record names nobody now. How
    many were deleted."""
    if not folder.is_dir():
        return 0
    anonymous = caller_key(folder, "")
    named: dict[int, list[Path]] = {}
    for path in folder.glob("*-*.wav"):
        call_id, _, key = path.stem.partition("-")
        if call_id.isdigit() and key != anonymous:
            named.setdefault(int(call_id), []).append(path)
    if not named:
        return 0
    gone = 0
    for erased in anonymised(sorted(named)):
        for path in named.get(erased, []):
            path.unlink(missing_ok=True)
            gone += 1
    return gone


class StereoWriter:
    """Caller and bot frames into one 16 kHz stereo WAV, written by a thread; `close` pads the shorter side."""

    def __init__(self, path: Path):
        private_folder(path.parent)
        self.path = path
        self._frames: queue.SimpleQueue[tuple[int, bytes] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._write, name="recording", daemon=True)
        self._thread.start()

    def caller(self, pcm: bytes) -> None:
        self._frames.put((0, pcm))

    def bot(self, pcm: bytes) -> None:
        self._frames.put((1, pcm))

    def close(self, timeout: float = 5.0) -> None:
        self._frames.put(None)
        self._thread.join(timeout)

    def _write(self) -> None:
        sides: tuple[list[bytes], list[bytes]] = ([], [])
        try:
            with os.fdopen(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as file, \
                    wave.open(file, "wb") as out:
                out.setnchannels(2)
                out.setsampwidth(2)
                out.setframerate(RATE)
                while (item := self._frames.get()) is not None:
                    sides[item[0]].append(item[1].ljust(FRAME_BYTES, b"\0")[:FRAME_BYTES])
                    self._flush(out, sides, min(len(sides[0]), len(sides[1])))
                self._flush(out, sides, max(len(sides[0]), len(sides[1])))
        except OSError:
            log.exception("a call recording could not be written")

    @staticmethod
    def _flush(out: wave.Wave_write, sides: tuple[list[bytes], list[bytes]], count: int) -> None:
        if count == 0:
            return
        left, right = ([*side[:count], *[SILENCE_FRAME] * (count - len(side[:count]))] for side in sides)
        pcm = np.stack([np.frombuffer(b"".join(left), np.int16), np.frombuffer(b"".join(right), np.int16)], axis=1)
        out.writeframes(pcm.tobytes())
        del sides[0][:count], sides[1][:count]


class RecordedCall:
    """A call's events, recorded on their way to the conductor (`inner`). Media and SIP threads; the file is
    opened by the first frame (a call never answered leaves none)."""

    def __init__(self, inner: CallEvents, path: Path, announcement: bytes):
        self._inner, self._path = inner, path
        self._announcement = deque(split_frames(announcement)) if announcement else deque()  # popped per frame
        self._lock = threading.Lock()
        self.writer: StereoWriter | None = None

    def _writer(self) -> StereoWriter:
        with self._lock:
            if self.writer is None:
                self.writer = StereoWriter(self._path)
            return self.writer

    def on_audio_frame(self, pcm: bytes) -> None:
        self._writer().caller(pcm)
        self._inner.on_audio_frame(pcm)

    def next_audio_frame(self) -> bytes | None:
        frame = self._announcement.popleft() if self._announcement else self._inner.next_audio_frame()
        self._writer().bot(frame if frame is not None else SILENCE_FRAME)
        return frame

    def on_answered(self) -> None:
        self._inner.on_answered()

    def on_dtmf(self, digit: str) -> None:
        self._inner.on_dtmf(digit)

    def on_transfer_status(self, status: int, reason: str, final: bool) -> None:
        self._inner.on_transfer_status(status, reason, final)

    def on_ended(self, reason: str, status: int) -> None:
        self._inner.on_ended(reason, status)


class Recordings:
    """The bot's recordings: each call's events wrapped while it lasts, its file named once the call is over."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._announcement = b""
        self._live: dict[int, RecordedCall] = {}  # by id() of the call's conductor
        self._names = count(1)

    def prepare(self, synthesize: Callable[[str], bytes], announcement: str, retention_days: float) -> None:
        """At start (blocking: a worker thread): synthesise the announcement once, remove expired recordings."""
        self._announcement = synthesize(announcement) if announcement.strip() else b""
        pruned = prune_recordings(self.folder, retention_days)
        if pruned:
            log.info("recordings older than the retention period were deleted", extra={"count": pruned})
        cut_off = list(self.folder.glob(".live-*.wav")) if self.folder.is_dir() else []
        for path in cut_off:  # a call a crash cut off: no record says whose it is
            path.unlink(missing_ok=True)
        if cut_off:
            log.info("recordings of calls cut off by a crash were deleted", extra={"count": len(cut_off)})

    def wrap(self, conductor: CallEvents) -> CallEvents:
        path = self.folder / f".live-{time.time_ns()}-{next(self._names)}.wav"
        recorded = RecordedCall(conductor, path, self._announcement)
        self._live[id(conductor)] = recorded
        return recorded

    def discard(self, conductor: CallEvents) -> None:
        """A call that could not be placed."""
        self._live.pop(id(conductor), None)

    def finish(self, conductor: CallEvents, call_id: int | None, record: dict | None, claimed: str) -> None:
        """The call is over (blocking: a worker thread): its file takes the call's name, or is deleted when the
        call never opened a record, or when its caller was forgotten during it (their record anonymised); then
        their earlier recordings go too."""
        recorded = self._live.pop(id(conductor), None)
        if recorded is None or recorded.writer is None:
            return
        recorded.writer.close()
        temp = recorded.writer.path
        if call_id is None or record is None:
            temp.unlink(missing_ok=True)
            return
        user = record.get("caller_user") or record.get("claimed_user") or ""
        if not user and claimed:  # the caller's number was on the record and is gone: they were forgotten
            temp.unlink(missing_ok=True)
            forget_recordings(self.folder, claimed)
            return
        temp.replace(recording_path(self.folder, call_id, user))
