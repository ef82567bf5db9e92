"""Call recordings without a call: the stereo file (caller left, bot right, aligned frame by frame), the
announcement before the conductor's audio, naming by call and caller, forget-me and retention."""

from __future__ import annotations

import os
import time
import wave

import numpy as np
import pytest

from employai.runtime.recording import (
    RecordedCall,
    Recordings,
    find_recording,
    forget_erased,
    forget_recordings,
    prune_recordings,
    recording_path,
    recordings_dir,
)
from sip_config import ConfigError, config_from_dict
from speech.pcm import FRAME_BYTES, FRAME_SAMPLES

pytestmark = pytest.mark.unit


def _frame(value: int) -> bytes:
    return np.full(FRAME_SAMPLES, value, np.int16).tobytes()


class _Conductor:
    def __init__(self):
        self.heard: list[bytes] = []
        self.said = [_frame(200), None, _frame(300)]

    def on_audio_frame(self, pcm: bytes) -> None:
        self.heard.append(pcm)

    def next_audio_frame(self) -> bytes | None:
        return self.said.pop(0) if self.said else None

    def on_answered(self) -> None: ...
    def on_dtmf(self, digit: str) -> None: ...
    def on_transfer_status(self, status: int, reason: str, final: bool) -> None: ...
    def on_ended(self, reason: str, status: int) -> None: ...


def _channels(path) -> np.ndarray:
    with wave.open(str(path)) as wav:
        assert wav.getnchannels() == 2 and wav.getframerate() == 16000 and wav.getsampwidth() == 2
        return np.frombuffer(wav.readframes(wav.getnframes()), np.int16).reshape(-1, 2)


def test_the_caller_is_left_the_bot_right_after_the_announcement(tmp_path):
    conductor = _Conductor()
    recordings = Recordings(tmp_path)
    recordings.prepare(lambda text: _frame(100) * 2, "This call is recorded.", 0)
    call = recordings.wrap(conductor)
    sent = []
    for i in range(5):  # the bridge asks for a frame and gives one, every 20 ms
        sent.append(call.next_audio_frame())
        call.on_audio_frame(_frame(10 + i))
    assert [f[:2] if f else None for f in sent] == [_frame(100)[:2]] * 2 + [_frame(200)[:2], None, _frame(300)[:2]]
    assert conductor.heard == [_frame(10 + i) for i in range(5)]  # the conductor hears the caller throughout
    recordings.finish(conductor, 7, {"caller_user": "+15550100", "claimed_user": "+15550100"}, "+15550100")
    path = find_recording(tmp_path, 7)
    assert path == recording_path(tmp_path, 7, "+15550100")
    stereo = _channels(path)
    assert len(stereo) == 5 * FRAME_SAMPLES
    left, right = stereo[::FRAME_SAMPLES, 0], stereo[::FRAME_SAMPLES, 1]
    assert list(left) == [10, 11, 12, 13, 14] and list(right) == [100, 100, 200, 0, 300]
    assert not list(tmp_path.glob(".live-*"))


def test_a_call_never_answered_leaves_no_file_and_a_forgotten_caller_none(tmp_path):
    recordings = Recordings(tmp_path)
    unanswered = _Conductor()
    recordings.wrap(unanswered)
    recordings.finish(unanswered, None, None, "+15550100")
    assert not list(tmp_path.iterdir())

    earlier = recording_path(tmp_path, 1, "+15550100")
    earlier.write_bytes(b"RIFF")
    forgotten = _Conductor()
    call = recordings.wrap(forgotten)
    call.on_audio_frame(_frame(1))
    # The caller asked to be forgotten during the call: its record was anonymised.
    recordings.finish(forgotten, 2, {"caller_user": "", "claimed_user": ""}, "+15550100")
    assert not list(tmp_path.glob("*.wav"))


def test_forget_and_retention_delete_files(tmp_path):
    mine, theirs = recording_path(tmp_path, 1, "+15550100"), recording_path(tmp_path, 2, "+15550199")
    for path in (mine, theirs):
        path.write_bytes(b"RIFF")
    assert forget_recordings(tmp_path, "+15550100") == 1 and not mine.exists() and theirs.exists()
    old = time.time() - 3 * 86400
    os.utime(theirs, (old, old))
    assert prune_recordings(tmp_path, 0) == 0 and theirs.exists()  # 0 keeps everything
    assert prune_recordings(tmp_path, 2) == 1 and not theirs.exists()


def test_recording_config(tmp_path):
    config = config_from_dict({"data": {"dir": str(tmp_path)}})
    assert not config.recording.enabled and recordings_dir(config) == tmp_path / "recordings"
    with pytest.raises(ConfigError) as error:
        config_from_dict({"recording": {"enabled": True, "announcement": " "}})
    assert error.value.key == "recording.announcement"
    assert isinstance(Recordings(tmp_path).wrap(_Conductor()), RecordedCall)
    assert FRAME_BYTES == 640


def test_a_caller_who_proved_who_they_are_by_pin_and_was_forgotten_loses_every_earlier_recording(tmp_path):
    """With the store's own erasure: the record of the call where the PIN was given is anonymised, and so every
    recording keyed by that number goes, those of calls from a trusted caller ID and those that only claimed it."""
    from memory.transcripts import TranscriptStore

    store = TranscriptStore(tmp_path / "db.sqlite3")
    folder = tmp_path / "recordings"
    folder.mkdir()
    alice, bob = "+15550100", "+15550199"
    trusted = store.start_call("inbound", f"sip:{alice}@pbx", alice, claimed_user=alice, verified=True)
    claimed = store.start_call("inbound", f"sip:{alice}@pbx", "", claimed_user=alice)
    others = store.start_call("inbound", f"sip:{bob}@pbx", bob, claimed_user=bob, verified=True)
    for call in (trusted, claimed, others):
        record = store.call_record(call)
        recording_path(folder, call, record["caller_user"] or record["claimed_user"]).write_bytes(b"RIFF")
    now = store.start_call("inbound", f"sip:{alice}@pbx", "", claimed_user=alice)  # the caller ID is a claim
    store.set_call_identity(now, alice)  # the PIN proved it
    assert store.caller_memory(alice).forget()["calls_anonymised"] == 3  # "forget me", said on this call
    recordings, conductor = Recordings(folder), _Conductor()
    recordings.wrap(conductor).on_audio_frame(_frame(1))
    recordings.finish(conductor, now, store.call_record(now), alice)
    assert sorted(p.name for p in folder.glob("*.wav")) == [recording_path(folder, others, bob).name]
    store.close()


def test_at_start_the_recordings_of_callers_forgotten_since_are_deleted(tmp_path):
    """A caller erased on a call that ended with the bot killed, or on another bot sharing the database: their
    records are anonymised, so their recordings go (at the next start, and at the running bot's housekeeping);
    anonymous callers' and unknown calls' stay. One look-up for all the files, never one per file."""
    erased = recording_path(tmp_path, 1, "+15550100")
    kept = [recording_path(tmp_path, 2, "+15550199"), recording_path(tmp_path, 3, "+15550177"),
            recording_path(tmp_path, 4, ""), recording_path(tmp_path, 5, "+15550100"), tmp_path / ".live-1-1.wav"]
    for path in (erased, *kept):
        path.write_bytes(b"RIFF")
    asked: list[list[int]] = []

    def anonymised(call_ids: list[int]) -> set[int]:  # the store's answer: call 1's record names nobody now
        asked.append(call_ids)
        return {1, 4} & set(call_ids)

    assert forget_erased(tmp_path, anonymised) == 1
    assert not erased.exists() and all(p.exists() for p in kept)
    assert asked == [[1, 2, 3, 5]]  # the anonymous caller's file (4) and a live one are no caller's
    assert forget_erased(tmp_path / "none", anonymised) == 0 and len(asked) == 1


def test_recordings_are_the_owners_alone_and_their_names_do_not_give_the_number_away(tmp_path):
    """Folder 0700, files 0600; the caller's part of a name is keyed by the folder's own secret (another folder,
    another name), so trying every phone number's plain hash finds nothing; a crash's cut-off files go at start."""
    import hashlib

    folder = tmp_path / "recordings"
    recordings, conductor = Recordings(folder), _Conductor()
    recordings.wrap(conductor).on_audio_frame(_frame(1))
    recordings.finish(conductor, 3, {"caller_user": "+15550100", "claimed_user": "+15550100"}, "+15550100")
    path = find_recording(folder, 3)
    assert path is not None and oct(folder.stat().st_mode & 0o777) == "0o700"
    assert oct(path.stat().st_mode & 0o777) == "0o600" and oct((folder / ".key").stat().st_mode & 0o777) == "0o600"
    assert hashlib.sha256(b"+15550100").hexdigest()[:16] not in path.name
    assert recording_path(tmp_path / "other", 3, "+15550100").name != path.name
    assert recording_path(folder, 9, "+15550100").name.split("-")[1] == path.name.split("-")[1]  # one caller, one key
    cut_off = folder / ".live-1-1.wav"
    cut_off.write_bytes(b"RIFF")
    Recordings(folder).prepare(lambda text: b"", "", 0)
    assert not cut_off.exists() and path.exists()
