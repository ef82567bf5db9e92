"""Caller PINs on a real SQLite file and a real PostgreSQL server: hashed, checked in constant time, locked after
three wrong tries in a row."""

from __future__ import annotations

import threading
import time

import pytest

from memory import pins as pins_module
from memory.pins import LOCK_S, PinStore, valid_pin
from memory.transcripts import TranscriptStore

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]

ALICE, BOB = "+15550101", "+15550102"


def test_a_pin_is_stored_as_a_salted_hash_and_verified(open_store, backend, tmp_path):
    store = open_store()
    pins = store.pins
    assert not pins.has_pin(ALICE) and not pins.verify(ALICE, "7391")
    pins.set(ALICE, "7391")
    pins.set(BOB, "7391")
    assert pins.has_pin(ALICE) and pins.verify(ALICE, "7391") and not pins.verify(ALICE, "1937")
    rows = store._db.execute("SELECT salt, hash FROM caller_pins").fetchall()
    assert rows[0] != rows[1] and all(b"7391" not in salt + digest for salt, digest in rows)  # salted, no PIN
    store.close()
    if backend == "sqlite":
        raw = b"".join(p.read_bytes() for p in tmp_path.glob("db.sqlite3*"))
        assert b"7391" not in raw
    assert open_store().pins.verify(ALICE, "7391")  # survives a restart


@pytest.mark.parametrize("pin", ["123", "123456789", "12a4", "", " 1234", "١٢٣٤"])
def test_only_four_to_eight_ascii_digits_are_a_pin(tmp_path, pin):
    pins = TranscriptStore(tmp_path / "db.sqlite3").pins
    assert not valid_pin(pin)
    with pytest.raises(ValueError):
        pins.set(ALICE, pin)
    with pytest.raises(ValueError):
        pins.set("", "7391")  # nobody to set it for
    assert valid_pin("1234") and valid_pin("12345678")


def test_three_wrong_pins_in_a_row_lock_it_for_fifteen_minutes(open_store):
    pins = open_store().pins
    pins.set(ALICE, "2468")
    assert not pins.verify(ALICE, "0000") and not pins.verify(ALICE, "1111")
    assert pins.verify(ALICE, "2468")  # a right one resets the count
    assert not pins.verify(ALICE, "0000") and not pins.verify(ALICE, "1111") and not pins.is_locked(ALICE)
    assert not pins.verify(ALICE, "2222")
    assert pins.is_locked(ALICE) and not pins.is_locked(ALICE, now=time.time() + LOCK_S + 1)
    assert not pins.verify(ALICE, "2468")  # locked: even the right PIN is refused
    again = open_store()  # the lock is in the table: a restart does not lift it
    assert again.pins.is_locked(ALICE) and not again.pins.verify(ALICE, "2468")
    assert not again.pins.is_locked(BOB)
    again._db.execute("UPDATE caller_pins SET locked_until = ? WHERE caller_user = ?", (time.time() - 1, ALICE))
    assert again.pins.verify(ALICE, "2468")  # the lock expired: three fresh tries
    assert not again.pins.verify(ALICE, "0000") and not again.pins.verify(ALICE, "0000")
    assert not again.pins.is_locked(ALICE)


def test_parallel_guesses_get_no_more_than_three_tries(open_store, monkeypatch):
    store = open_store()
    store.pins.set(ALICE, "97531")
    checked: list[str] = []
    real_hash = pins_module._hash

    def counting_hash(pin: str, salt: bytes) -> bytes:
        if salt != b"\0" * 16:  # not the stand-in hash of a refused attempt
            checked.append(pin)
        return real_hash(pin, salt)

    monkeypatch.setattr(pins_module, "_hash", counting_hash)
    results: list[bool] = []
    guesses = [f"{n:05d}" for n in range(8)] + ["97531"]  # the right one comes after eight wrong ones
    threads = [threading.Thread(target=lambda g=g: results.append(store.pins.verify(ALICE, g))) for g in guesses]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    attempts = store._db.execute("SELECT failures FROM caller_pins").fetchone()[0]
    assert len(results) == 9 and len(checked) <= 3 and results.count(True) <= 1
    assert attempts <= 3 and (store.pins.is_locked(ALICE) or results.count(True) == 1)


def test_clear_and_a_separate_store_share_the_table(open_store):
    store = open_store()
    store.pins.set(ALICE, "7391")
    other = PinStore(store._db)
    assert other.has_pin(ALICE) and other.clear(ALICE) and not other.clear(ALICE)
    assert not store.pins.has_pin(ALICE)


def test_an_operator_sets_a_pin_without_it_being_echoed(tmp_path, monkeypatch, capsys):
    import getpass
    import io
    import sys
    from types import SimpleNamespace

    from employai.cli.memory import run_memory
    from sip_config import load_config

    (tmp_path / "bot.toml").write_text(f'[data]\ndir = "{tmp_path}"\n')
    config = load_config(tmp_path / "bot.toml")

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    def pin(stdin: str, tty: bool = False, **flags) -> int:
        monkeypatch.setattr(sys, "stdin", Terminal(stdin) if tty else io.StringIO(stdin))
        options = {"pin_stdin": False, "clear": False} | flags
        return run_memory(SimpleNamespace(caller="+1 555 0101", memory_command="pin", **options), config)

    assert pin("2468\n") == 2  # not a terminal and no --pin-stdin: refused, nothing read
    assert pin("24\n", pin_stdin=True) == 2
    assert pin("2468\n", pin_stdin=True) == 0
    typed = iter(["1357", "1357"])  # an operator at a terminal types it twice, unechoed
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(typed))
    assert pin("", tty=True) == 0
    out = capsys.readouterr().out
    assert "2468" not in out and "1357" not in out and "PIN of +15550101 set." in out
    pins = TranscriptStore(tmp_path / "employai.sqlite3").pins
    assert pins.verify(ALICE, "1357") and not pins.verify(ALICE, "2468")
    assert pin("", clear=True) == 0 and not pins.has_pin(ALICE)


@pytest.mark.parametrize("pin", ["0000", "1111", "1234", "4321", "123456", "9876"])
def test_the_first_guesses_anyone_tries_are_refused_as_pins(tmp_path, pin):
    store = TranscriptStore(tmp_path / "db.sqlite3")
    with pytest.raises(ValueError, match="guess"):
        store.pins.set(ALICE, pin)
    store.close()
