"""The CPU lanes: model work of all calls taken in order of urgency, never more at once than the lanes; the engines
behind them; a turn's urgency as its reply goes on."""

from __future__ import annotations

import contextvars
import threading
import time

import pytest

from employai.runtime.cpu import URGENCY, CpuLanes, Fixed, Level, Pending, current_level, lanes_for
from employai.runtime.scheduled import ScheduledSynthesizer, ScheduledTranscriber, token_step
from employai.runtime.speaker import SpokenTurn

from .fakes import FakeSynthesizer, FakeTranscriber

pytestmark = pytest.mark.unit


def _until(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


class _Levels:
    """A settable urgency (a turn whose pause turns out to be the end of it)."""

    def __init__(self, level: Level):
        self.value = level

    def level(self, stage: str) -> Level:
        return self.value


def _queue(lanes: CpuLanes, jobs: list[tuple[str, object]]) -> tuple[list[str], threading.Event, list]:
    """One job holds the only lane until released; the others wait, in this order, for it."""
    order: list[str] = []
    release = threading.Event()
    held = threading.Event()

    def first():
        with lanes.hold(lambda: Level.AFTER_CALL):
            held.set()
            release.wait(5)

    threads = [threading.Thread(target=first)]
    threads[0].start()
    held.wait(5)
    for name, urgency in jobs:
        def job(name=name, urgency=urgency):
            context = contextvars.copy_context()
            context.run(URGENCY.set, urgency)
            context.run(lambda: lanes.run(current_level("tokens"), lambda: order.append(name)))
        thread = threading.Thread(target=job)
        thread.start()
        threads.append(thread)
        queued = len(threads) - 1
        _until(lambda queued=queued: lanes.waiting == queued)  # queued in this order
    return order, release, threads


def test_the_lane_goes_to_the_most_urgent_work_then_to_the_longest_waiting():
    lanes = CpuLanes(1)
    later = _Levels(Level.SPECULATIVE)
    order, release, threads = _queue(lanes, [
        ("after-call", Fixed(Level.AFTER_CALL)), ("speculative", later), ("tokens-1", Fixed(Level.FIRST_TOKENS)),
        ("transcript", Fixed(Level.TRANSCRIPT)), ("tokens-2", Fixed(Level.FIRST_TOKENS)),
        ("audio", Fixed(Level.FIRST_AUDIO))])
    later.value = Level.FIRST_AUDIO  # the pause was the end of the turn: its prepared work is urgent now
    release.set()
    for thread in threads:
        thread.join(5)
    assert order == ["speculative", "audio", "tokens-1", "tokens-2", "transcript", "after-call"]
    assert lanes.stats.jobs == 7 and lanes.stats.most_waiting == 6 and lanes.waiting == 0


def test_no_more_jobs_run_at_once_than_there_are_lanes():
    lanes = CpuLanes(2)
    running, most = [0], [0]
    guard = threading.Lock()

    def job():
        with lanes.hold(lambda: Level.TRANSCRIPT):
            with guard:
                running[0] += 1
                most[0] = max(most[0], running[0])
            time.sleep(0.01)
            with guard:
                running[0] -= 1

    threads = [threading.Thread(target=job) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert most[0] == 2 and lanes.stats.jobs == 8
    assert lanes_for(2, 2) == 1 and lanes_for(8, 2) == 4 and lanes_for(1, 4) == 1
    with pytest.raises(ValueError):
        CpuLanes(0)


def test_a_failing_job_frees_its_lane():
    lanes = CpuLanes(1)
    with pytest.raises(RuntimeError):
        lanes.run(lambda: Level.TRANSCRIPT, lambda: (_ for _ in ()).throw(RuntimeError("engine failed")))
    assert lanes.run(lambda: Level.TRANSCRIPT, lambda: 42) == 42


def test_a_turns_work_is_urgent_until_its_first_audio_and_speculative_while_only_prepared():
    turn = SpokenTurn(turn_id=1, speculative=True)
    assert turn.level("tokens") == turn.level("audio") == Level.SPECULATIVE
    turn.speculative = False
    assert (turn.level("audio"), turn.level("tokens"), turn.level("transcript")) == (
        Level.FIRST_AUDIO, Level.FIRST_TOKENS, Level.TRANSCRIPT)
    turn.first_audio = time.monotonic()
    assert turn.level("audio") == turn.level("tokens") == Level.TRANSCRIPT  # the rest of the reply
    pending = Pending()
    assert pending.level("transcript") == Level.SPECULATIVE
    pending.final = True
    assert pending.level("transcript") == Level.TRANSCRIPT
    assert current_level("tokens")() == Level.AFTER_CALL  # no call is waiting for it


def test_the_engines_behind_the_lanes_keep_their_interfaces():
    lanes = CpuLanes(1)
    transcriber = ScheduledTranscriber(FakeTranscriber(["hello"]), lanes)
    synthesizer = ScheduledSynthesizer(FakeSynthesizer(b"\1\0" * 1600), lanes)
    assert transcriber.transcribe(b"\0" * 3200, "digits").text == "hello"
    assert transcriber.inner.expected == ["digits"]
    assert synthesizer.synthesize("Hi there.")
    assert token_step(lanes)(lambda: "token") == "token"
    assert lanes.stats.jobs == 3 and lanes.stats.by_level == {int(Level.AFTER_CALL): 3}
