"""Housekeeping of a running bot (`memory.housekeeping_minutes`): the sweep's timing in virtual time, a failed sweep
tried again, a prompt stop, and, on SQLite and on PostgreSQL, the recording of a caller whom another process
forgot deleted by the running bot's sweep without a restart."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import time
from collections.abc import Callable

import pytest

from employai.runtime.housekeeping import Housekeeping
from employai.runtime.recording import recording_path

from .test_records import ALICE, BOB

pytestmark = [pytest.mark.unit, pytest.mark.timeout(120)]

DAY = 86400


class VirtualClock:
    """A timer that takes no real time: each sleep moves the clock on by its length."""

    def __init__(self):
        self.now = 0.0
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


class CountingStore:
    """The store's side of a sweep, noting the virtual time of each; `failing` sweeps raise."""

    def __init__(self, clock: VirtualClock, stop_after: int, failing: tuple[int, ...] = ()):
        self.clock, self.stop_after, self.failing = clock, stop_after, failing
        self.pruned_at: list[float] = []
        self.retention: list[float] = []
        self.stop = asyncio.Event()
        self.loop = asyncio.get_running_loop()

    def prune(self, retention_days: float) -> int:
        self.pruned_at.append(self.clock.now)
        self.retention.append(retention_days)
        if len(self.pruned_at) >= self.stop_after:
            self.loop.call_soon_threadsafe(self.stop.set)
        if len(self.pruned_at) in self.failing:
            raise RuntimeError("the database server went away")
        return 0

    def anonymised_calls(self, call_ids) -> set[int]:
        return set()


def test_a_sweep_every_interval_in_virtual_time_and_a_failed_one_tried_again(caplog):
    async def scenario():
        clock = VirtualClock()
        store = CountingStore(clock, stop_after=4, failing=(2,))
        keeper = Housekeeping(store, 30, 600.0, sleep=clock.sleep)
        await asyncio.wait_for(keeper.run(store.stop), 10)
        return clock, store, keeper

    with caplog.at_level(logging.ERROR, logger="employai.runtime.housekeeping"):
        clock, store, keeper = asyncio.run(scenario())
    assert store.pruned_at == [600.0, 1200.0, 1800.0, 2400.0]  # none at start (the start prunes), then each 10 min
    assert store.retention == [30] * 4 and keeper.sweeps == 4
    assert clock.slept == [600.0] * 4  # stopped during the 4th sweep: no fifth wait
    assert [r.message for r in caplog.records] == ["housekeeping failed; it runs again at the next interval"]


def test_each_sweep_also_does_what_the_start_does_once():
    """The speech prompt is rebuilt when the knowledge base changed (`BusinessPrompt.refresh`): once a sweep."""
    async def scenario():
        clock = VirtualClock()
        store = CountingStore(clock, stop_after=3)
        refreshed: list[float] = []
        keeper = Housekeeping(store, 30, 600.0, sleep=clock.sleep, also=(lambda: refreshed.append(clock.now),))
        await asyncio.wait_for(keeper.run(store.stop), 10)
        return refreshed

    assert asyncio.run(scenario()) == [600.0, 1200.0, 1800.0]


def test_a_task_that_fails_leaves_the_others_and_a_failed_prune_leaves_the_tasks(caplog):
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("the database server went away")

    class FailingStore:
        def prune(self, retention_days: float) -> int:
            raise RuntimeError("the database server went away")

        def anonymised_calls(self, call_ids) -> set[int]:
            return set()

    keeper = Housekeeping(FailingStore(), 30, 600.0, also=(broken, lambda: ran.append("refreshed")))
    with caplog.at_level(logging.ERROR, logger="employai.runtime.housekeeping"), pytest.raises(RuntimeError):
        keeper.sweep()  # the prune's failure is the sweep's (logged by `run`) ...
    assert ran == ["refreshed"]  # ... but the tasks ran, the one after the broken one too
    assert [r.message for r in caplog.records] == ["a housekeeping task failed; it runs again at the next interval"]


def test_the_interval_comes_from_the_config_and_a_stop_ends_the_wait_at_once(tmp_path):
    from sip_config import config_from_dict

    config = config_from_dict({"data": {"dir": str(tmp_path)}, "memory": {"retention_days": 7}})
    assert config.memory.housekeeping_minutes == 10
    assert Housekeeping.of_bot(config, None, None).interval_s == 600.0  # type: ignore[arg-type]
    quick = config_from_dict({"memory": {"housekeeping_minutes": 0.5}})
    assert Housekeeping.of_bot(quick, None, tmp_path).interval_s == 30.0  # type: ignore[arg-type]

    async def stopped_while_waiting() -> float:
        clock = VirtualClock()
        store = CountingStore(clock, stop_after=1)
        keeper = Housekeeping(store, 7, 3600.0)  # the real timer: an hour
        task = asyncio.create_task(keeper.run(store.stop))
        await asyncio.sleep(0.05)
        began = time.monotonic()
        store.stop.set()
        await asyncio.wait_for(task, 5)
        assert store.pruned_at == [] and keeper.sweeps == 0
        return time.monotonic() - began

    assert asyncio.run(stopped_while_waiting()) < 1.0
    with pytest.raises(ValueError):
        Housekeeping(None, 0, 0)  # type: ignore[arg-type]


def test_anonymised_calls_are_found_in_one_batch(open_store):
    store = open_store()
    alice = store.start_call("inbound", f"sip:{ALICE}@pbx", ALICE, claimed_user=ALICE, verified=True)
    claim = store.start_call("inbound", f"sip:{ALICE}@pbx", "", claimed_user=ALICE)
    bob = store.start_call("inbound", f"sip:{BOB}@pbx", BOB, claimed_user=BOB, verified=True)
    nobody = store.start_call("inbound", "sip:anonymous@pbx")
    many = [*range(10_000, 11_200), alice, claim, bob, nobody]  # more ids than one query takes; most unknown
    assert store.anonymised_calls(many) == {nobody}
    store.caller_memory(ALICE).forget()
    assert store.anonymised_calls(many) == {alice, claim, nobody}
    assert store.anonymised_calls([]) == set()


async def _within(seconds: float, condition: Callable[[], bool]) -> bool:
    """Whether `condition` comes true within `seconds` (looked at every 20 ms)."""
    for _ in range(round(seconds / 0.02)):
        if condition():
            return True
        await asyncio.sleep(0.02)
    return condition()


def _forget_elsewhere(url: str, user: str) -> None:
    """Another bot (or `employai memory forget` on another machine): the caller forgotten in the shared database;
    this process has none of the first bot's recordings."""
    from memory.transcripts import TranscriptStore

    store = TranscriptStore(url)
    store.caller_memory(user).forget()
    store.close()


def test_a_caller_forgotten_by_another_process_loses_this_bots_recordings_without_a_restart(
        open_store, database_url, tmp_path, caplog):
    store = open_store()
    folder = tmp_path / "recordings"
    folder.mkdir()
    alice = store.start_call("inbound", f"sip:{ALICE}@pbx", ALICE, claimed_user=ALICE, verified=True)
    bob = store.start_call("inbound", f"sip:{BOB}@pbx", BOB, claimed_user=BOB, verified=True)
    hers, his = recording_path(folder, alice, ALICE), recording_path(folder, bob, BOB)
    for path in (hers, his):
        path.write_bytes(b"RIFF")

    async def running_bot() -> None:
        stop = asyncio.Event()
        keeper = Housekeeping(store, 365, 0.05, folder)  # the bot's own store and folder; a tiny interval
        task = asyncio.create_task(keeper.run(stop))
        try:
            assert await _within(10, lambda: keeper.sweeps >= 2)
            assert hers.exists() and his.exists()  # nobody was forgotten yet
            other = multiprocessing.get_context("spawn").Process(target=_forget_elsewhere, args=(database_url, ALICE))
            other.start()
            await asyncio.to_thread(other.join, 60)
            assert other.exitcode == 0
            assert await _within(10, lambda: not hers.exists())  # the next sweep, no restart
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)

    with caplog.at_level(logging.INFO, logger="employai.runtime.housekeeping"):
        asyncio.run(running_bot())
    assert not hers.exists() and his.exists()
    deleted = [r for r in caplog.records if r.message == "housekeeping deleted recordings"]
    assert len(deleted) == 1 and deleted[0].recordings_of_forgotten_callers == 1
    assert ALICE not in caplog.text and BOB not in caplog.text  # counts only
