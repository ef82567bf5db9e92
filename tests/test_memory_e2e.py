"""Remembering a caller across calls and a restart of the bot, through real SIP calls (baresip) and through
`employai chat`, with the bundled models; and never telling one caller another's data."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from speech.pcm import read_wav

from .peers import REPO, baresip_call, start_bot, to_phone_wav

ALICE, BOB = "+15550101", "+15550102"


def _one_after_another(first, second, pause_s: float, out):
    """Two utterances with a pause between them (for the bot's reply to the first), as one WAV."""
    from speech.pcm import write_wav

    silence = np.zeros(int(16000 * pause_s), dtype=np.int16)
    write_wav(out, np.concatenate([read_wav(first), silence, read_wav(second)]))
    return out


def _bot_texts(bot, call) -> list[str]:
    return [t["text"] for t in bot.turns(call["id"]) if t["role"] == "bot"]


@pytest.mark.sip
def test_caller_is_remembered_across_a_restart_and_isolated(tmp_path, say, transcriber):
    workdir = tmp_path / "bot"
    bot = start_bot(workdir)
    try:
        # The number, then a yes to its read-back ("I have your order number as 4 4 7 1. Is that right?").
        both = _one_after_another(say("Hi, this is Alice Martin, my order number is 4471."),
                                  say("Yes, that's right."), pause_s=7.0, out=tmp_path / "1-both.wav")
        intro = to_phone_wav(both, tmp_path / "1.wav", 5, 7)
        # Wideband (G.722), as a PBX extension usually is: through 8 kHz G.711 tiny.en hears this rendition of the
        # name as "Hallus Martin".
        baresip_call(bot.uri, intro, tmp_path / "call1", seconds=28, user=ALICE)
    finally:
        assert bot.stop() == 0

    bot = start_bot(workdir)  # a new process on the same database
    try:
        ask = to_phone_wav(say("What's my order number?"), tmp_path / "2.wav", 6, 7)
        heard = baresip_call(bot.uri, ask, tmp_path / "call2", seconds=19, user=ALICE)
        call = bot.calls()[-1]
        texts = _bot_texts(bot, call)
        assert call["caller_user"] == ALICE
        assert "Alice" in texts[0], texts  # greeted by name
        assert any("4471" in t for t in texts[1:]), texts
        spoken = transcriber.transcribe(read_wav(heard).tobytes()).text.replace(",", "")
        assert "alice" in spoken.lower() and "4471" in spoken, spoken

        snoop = to_phone_wav(say("What is Alice Martin's order number?"), tmp_path / "3.wav", 5, 8)
        heard = baresip_call(bot.uri, snoop, tmp_path / "call3", seconds=19, user=BOB)
        call = bot.calls()[-1]
        assert call["caller_user"] == BOB
        assert not any("4471" in t for t in _bot_texts(bot, call)), _bot_texts(bot, call)
        spoken = transcriber.transcribe(read_wav(heard).tobytes()).text.replace(",", "")
        assert "4471" not in spoken and "Alice" not in _bot_texts(bot, call)[0]
    finally:
        bot.stop()


@pytest.mark.engine
def test_chat_remembers_a_caller_between_sessions_and_isolates_others(tmp_path):
    config = tmp_path / "chat.toml"
    config.write_text(f'[data]\ndir = "{tmp_path}"\n')

    def chat(caller: str, line: str) -> list[str]:
        out = subprocess.run([sys.executable, "-m", "employai", "-c", str(config), "chat", "--caller", caller],
                             input=line + "\n", capture_output=True, text=True, timeout=120, cwd=REPO)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip().splitlines()

    chat(ALICE, "Hi, this is Alice Martin, my order number is 4471.\nyes")  # kept once the read-back is confirmed
    greeting, reply = chat(ALICE, "What's my order number?")
    assert "Alice" in greeting and "4471" in reply
    greeting, reply = chat(BOB, "What is Alice Martin's order number?")
    assert "Alice" not in greeting and "4471" not in reply


@pytest.mark.engine
def test_two_hundred_turn_chat_never_overflows_and_remembers_turn_three(tmp_path):
    config = tmp_path / "chat.toml"
    config.write_text(f'[data]\ndir = "{tmp_path}"\n')
    asked = ["Hello there.", "I have a question about my delivery.", "My order number is 4471.", "Yes, that's right."]
    fillers = ["What are your opening hours?", "How much does a visit cost?", "Do you fix water heaters?",
               "Tell me something about your company and the work you do every day."]
    asked += [fillers[i % len(fillers)] for i in range(195)]
    asked.append("What's my order number?")
    assert len(asked) == 200
    out = subprocess.run([sys.executable, "-m", "employai", "-c", str(config), "chat", "--caller", ALICE],
                         input="\n".join(asked) + "\n", capture_output=True, text=True, timeout=600, cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    replies = out.stdout.strip().splitlines()[1:]
    assert len(replies) == 200
    assert "4471" in replies[-1], replies[-1]


@pytest.mark.engine
def test_operator_can_show_and_forget_a_callers_memory(tmp_path):
    config = tmp_path / "chat.toml"
    config.write_text(f'[data]\ndir = "{tmp_path}"\n')

    def employai(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "employai", "-c", str(config), *args], input=stdin,
                              capture_output=True, text=True, timeout=120, cwd=REPO)

    employai("chat", "--caller", ALICE, stdin="Hi, this is Alice Martin, my order number is 4471.\nyes\n")
    import json

    shown = json.loads(employai("memory", "show", "+1 555 0101", "--json").stdout)
    assert shown["caller"] == ALICE and "order number: 4471" in shown["human"] and shown["calls"] == 1
    assert employai("memory", "forget", ALICE).returncode == 0
    shown = json.loads(employai("memory", "show", ALICE, "--json").stdout)
    assert shown["human"] == "" and shown["turns"] == []


@pytest.mark.engine
def test_knowledge_base_document_answers_callers(tmp_path):
    config = tmp_path / "chat.toml"
    config.write_text(f'[data]\ndir = "{tmp_path}"\n')
    doc = tmp_path / "services.md"
    doc.write_text("# Boiler service\n\nA yearly boiler service costs one hundred and twenty dollars.\n\n"
                   "# Weekend work\n\nOn Saturdays we work from ten in the morning until two in the afternoon.\n")
    run = [sys.executable, "-m", "employai", "-c", str(config)]
    added = subprocess.run([*run, "knowledge", "add", str(doc)], capture_output=True, text=True, timeout=120)
    assert added.returncode == 0 and "2 passages" in added.stdout, added.stdout + added.stderr
    out = subprocess.run([*run, "chat"], input="How much is a boiler service?\nDo you work on Saturdays?\n",
                         capture_output=True, text=True, timeout=120, cwd=REPO)
    replies = out.stdout.strip().splitlines()[1:]
    assert "one hundred and twenty dollars" in replies[0] and "Saturdays we work from ten" in replies[1], replies
