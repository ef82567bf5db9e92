"""A real SIP peer (baresip, Debian) calls the real bot over loopback: spoken questions, recorded answers."""

from __future__ import annotations

import threading

import pytest

from employai.harness.wer import normalise, wer
from speech.pcm import read_wav

from .peers import SHARED_EVAL, baresip_call, to_phone_wav

pytestmark = pytest.mark.sip

GREETING_LEAD_S = 5.0  # the caller waits for the greeting to end before speaking


def _last_call(bot):
    calls = bot.calls()
    assert calls, "no call was recorded"
    return calls[-1]


def test_spoken_question_gets_relevant_spoken_answer(bot, say, transcriber, tmp_path):
    question = to_phone_wav(say("What are your opening hours?"), tmp_path / "q.wav", GREETING_LEAD_S, 9)
    heard = baresip_call(bot.uri, question, tmp_path / "baresip", seconds=20)

    assert "Set audio encoder: G722" in (tmp_path / "baresip" / "baresip.log").read_text(errors="replace")
    text = transcriber.transcribe(read_wav(heard).tobytes()).text.lower()
    assert "how can i help" in text  # the greeting
    assert "monday" in text and "friday" in text, text  # the answer, from the employee profile

    call = _last_call(bot)
    assert call["direction"] == "inbound" and call["caller_user"] == "caller"
    assert call["ended_at"] is not None and call["end_reason"] == "caller_hangup"
    turns = bot.turns(call["id"])
    roles = [t["role"] for t in turns]
    assert roles[:3] == ["bot", "caller", "bot"], roles
    assert "opening hours" in turns[1]["text"].lower()
    reply = turns[2]
    # Every stage of the exchange was timed, in order.
    stages = [reply[k] for k in ("speech_end", "transcript_ready", "first_token", "first_audio", "first_frame")]
    assert all(s is not None for s in stages), stages
    assert stages == sorted(stages[:2]) + stages[2:] and stages[0] <= stages[1] <= stages[4]


def test_real_human_recording_is_understood_and_answered(bot, tmp_path):
    reference = "Ask her to bring these things with her from the store."
    question = to_phone_wav(SHARED_EVAL / "vctk_p225_002.wav", tmp_path / "q.wav", GREETING_LEAD_S, 9)
    heard = baresip_call(bot.uri, question, tmp_path / "baresip", seconds=20, wideband=False)  # G.711, 8 kHz
    assert "Set audio encoder: PCMU" in (tmp_path / "baresip" / "baresip.log").read_text(errors="replace")

    call = _last_call(bot)
    turns = bot.turns(call["id"])
    caller_turns = [t["text"] for t in turns if t["role"] == "caller"]
    assert caller_turns, "the bot heard nothing"
    assert wer([reference], [caller_turns[0]]) <= 0.3, caller_turns[0]
    replies = [t for t in turns if t["role"] == "bot" and t["speech_end"] is not None]
    assert replies and replies[0]["text"].strip(), "the bot did not answer"
    # And the caller heard that answer: audio after the question.
    audio = read_wav(heard, 16000)
    after_question = audio[int((GREETING_LEAD_S + 3.5) * 16000):]
    assert after_question.size and abs(after_question.astype(int)).max() > 1000


def test_barge_in_stops_the_greeting_and_the_question_is_answered(bot, say, transcriber, tmp_path):
    # The caller talks over the greeting, one second in.
    question = to_phone_wav(say("How much does a visit cost?"), tmp_path / "q.wav", 1.0, 9)
    heard = baresip_call(bot.uri, question, tmp_path / "baresip", seconds=16)

    call = _last_call(bot)
    turns = bot.turns(call["id"])
    greeting = turns[0]
    assert greeting["role"] == "bot" and greeting["interrupted"] == 1, dict(greeting)
    full_greeting = "Hello, this is Joe at Acme Plumbing. How can I help you today?"
    assert len(normalise(greeting["text"])) < len(normalise(full_greeting))
    assert any(t["role"] == "caller" and "cost" in t["text"].lower() for t in turns), [dict(t) for t in turns]
    text = transcriber.transcribe(read_wav(heard).tobytes()).text.lower()
    assert "how can i help" not in text  # the rest of the greeting was never played
    assert "eighty" in text or "80" in text, text


def test_caller_hangs_up_mid_reply_and_bot_keeps_serving(bot, say, tmp_path):
    # The file (and so the call) ends 1.5 s after the question: the bot is mid-reply.
    question = to_phone_wav(say("Can you fix my boiler?"), tmp_path / "q.wav", GREETING_LEAD_S, 1.5)
    baresip_call(bot.uri, question, tmp_path / "first", seconds=15)
    call = _last_call(bot)
    assert call["end_reason"] == "caller_hangup" and call["ended_at"] is not None
    turns = bot.turns(call["id"])
    assert turns[-1]["role"] == "bot" and turns[-1]["interrupted"] == 1, [dict(t) for t in turns]
    assert bot.proc.poll() is None

    again = to_phone_wav(say("What are your opening hours?"), tmp_path / "q2.wav", GREETING_LEAD_S, 8)
    baresip_call(bot.uri, again, tmp_path / "second", seconds=18)
    assert _last_call(bot)["id"] == call["id"] + 1
    assert any(t["role"] == "bot" and "monday" in t["text"].lower() for t in bot.turns(call["id"] + 1))


def test_two_simultaneous_calls_each_get_their_own_conversation(bot, say, tmp_path):
    first = to_phone_wav(say("What are your opening hours?"), tmp_path / "a.wav", GREETING_LEAD_S, 9)
    second = to_phone_wav(say("How much does a visit cost?"), tmp_path / "b.wav", GREETING_LEAD_S, 9)
    before = len(bot.calls())
    heard: dict[str, object] = {}
    threads = [
        threading.Thread(target=lambda n=n, q=q: heard.__setitem__(n, baresip_call(bot.uri, q, tmp_path / n, 20)))
        for n, q in (("a", first), ("b", second))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert set(heard) == {"a", "b"}
    calls = bot.calls()[before:]
    assert len(calls) == 2
    a, b = calls
    assert a["started_at"] < b["ended_at"] and b["started_at"] < a["ended_at"], "the calls did not overlap"
    replies = {}
    for call in calls:
        turns = bot.turns(call["id"])
        asked = next(t["text"].lower() for t in turns if t["role"] == "caller")
        replies[asked] = " ".join(t["text"].lower() for t in turns if t["role"] == "bot")
    hours = next(r for q, r in replies.items() if "hours" in q)
    cost = next(r for q, r in replies.items() if "cost" in q)
    assert "monday" in hours and "eighty" in cost
