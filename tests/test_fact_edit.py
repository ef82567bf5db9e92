"""Correcting one fact remembered of a caller, on both backends: the memory layer, `employai memory set`, and the
console's form (the same function), each logged as an operator action without the caller or the fact."""

from __future__ import annotations

import pytest

from employai.cli.main import main
from memory.blocks import BlockFullError

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]

ALICE = "+15550101"


def test_one_fact_is_set_replaced_and_forgotten(open_store):
    store = open_store()
    memory = store.caller_memory(ALICE)
    memory.learn_from("Hi, this is Alice Smith, my order number is 4471.")
    memory.learn_from("I could come on Friday at 3pm.")
    assert memory.known("name") == "Alice Smith"
    memory.set_fact("name", "Alicia  Smith")  # whitespace folded
    memory.set_fact("Email", "alice@example.org")
    memory.set_fact("order number", "")  # forgotten
    reopened = open_store().caller_memory(ALICE)
    lines = reopened.human().value.splitlines()
    assert lines == ["mentioned time: on Friday at 3pm", "name: Alicia Smith", "email: alice@example.org"], lines
    assert reopened.known("name") == "Alicia Smith" and reopened.known("order number") == ""
    for bad in ("", "  ", "name: x", "a" * 41):
        with pytest.raises(ValueError):
            memory.set_fact(bad, "x")
    with pytest.raises(BlockFullError):
        memory.set_fact("notes", "x" * 2000)
    assert open_store().caller_memory("+15550102").human().value == ""  # nobody else's memory
    store.caller_memory("").set_fact("name", "Nobody")  # anonymous: nothing is remembered
    assert store.caller_memory("").human().value == ""


def test_memory_set_on_the_command_line(tmp_path, capfd):
    from employai.runtime.storage import open_store as open_configured
    from sip_config import config_from_dict

    config_file = tmp_path / "bot.toml"
    config_file.write_text(f'[data]\ndir = "{tmp_path}"\n')
    store = open_configured(config_from_dict({"data": {"dir": str(tmp_path)}}))
    store.caller_memory(ALICE).learn_from("My name is Alice Smith.")
    store.close()
    assert main(["-c", str(config_file), "memory", "set", "+1 555 0101", "name", "Alicia Smith"]) == 0
    out, err = capfd.readouterr()
    assert "name of +15550101 set." in out
    action = [line for line in err.splitlines() if "operator action" in line]
    assert len(action) == 1 and "action='set_fact'" in action[0] and "via='cli'" in action[0], err
    assert "Alicia" not in err and "5550101" not in err
    assert main(["-c", str(config_file), "memory", "set", ALICE, "bad: key", "x"]) == 2
    assert "nothing changed" in capfd.readouterr().out
    assert main(["-c", str(config_file), "memory", "show", ALICE]) == 0
    shown = capfd.readouterr().out
    assert "name: Alicia Smith" in shown and "Alice Smith\n" not in shown
