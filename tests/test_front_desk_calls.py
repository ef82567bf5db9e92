"""Front-desk jobs done over real calls: a scripted caller (`employai dial`, flite voices, G.711 only) calls a real
bot (`employai run`) over loopback, and the bot's database and the caller's side say what happened.

Covered: a booking completed by voice (a misheard number corrected on the way, and a goodbye that ends the call
with the bot's BYE), a booking whose callback number is keyed, a transfer to a name the bot was unsure of and
confirmed, and an invention refused (a scripted model that always states a made-up price: the caller never hears
it, and hears the honest fallback instead). The dialogues and their checks are the eval's
(`employai eval conversation`); one bot per profile is shared by the module.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
import tomllib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from employai.harness.conversation_calls import CallerVoices, DialogueCall, PlayedTurn, StoredForm, play, stored_forms
from employai.harness.conversation_scoring import DialogueScore, score_dialogue
from employai.harness.dialogues import profiles
from employai.harness.dialogues.script import DONT_KNOW, Dialogue, Outcome, dont_know, goodbye, number
from employai.harness.eval_conversation import model_toml, start_profile_bot
from sip_config import config_from_dict
from speech.pcm import read_wav

from .peers import start_bot

pytestmark = pytest.mark.timeout(360)  # the first test of a bot also waits for it to start and take its calls

PLUMBING = profiles()["default"]
INVENTED = "They cost forty-five dollars each, and we have them in stock at 12 Baker Street."
INVENTED_PRICE = r"forty[- ]five|\b45\b"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("front-desk")


@pytest.fixture(scope="module")
def voices(workdir) -> CallerVoices:
    if shutil.which("flite") is None:
        pytest.fail("flite is missing: `make test` installs the Debian test peers")
    return CallerVoices(workdir / "voices")


@pytest.fixture(scope="module")
def plumbing_calls(workdir, voices) -> Iterator[dict[str, tuple[Dialogue, DialogueCall, DialogueScore]]]:
    """The default profile's bot, called by three scripted callers: the two bookings at once (the bot takes
    calls side by side), then the confirmed transfer."""
    bot = start_profile_bot(PLUMBING, workdir / "plumbing")
    names = ("booking-corrected-number", "booking-keyed-number", "transfer-unsure-confirmed")

    def call(n: int) -> tuple[Dialogue, DialogueCall, DialogueScore]:
        dialogue = PLUMBING.dialogue(names[n])
        outcome = play(bot, dialogue, f"test-{n}", voices, workdir)
        return dialogue, outcome, score_dialogue(dialogue, outcome)

    try:
        with ThreadPoolExecutor(2) as pool:
            both = list(pool.map(call, (0, 1)))
        yield {names[0]: both[0], names[1]: both[1], names[2]: call(2)}
    finally:
        bot.stop()


def _turn(score: DialogueScore, what: str):
    return next(t for t in score.turns if t.expected == what)


@pytest.mark.sip
def test_a_booking_is_completed_by_voice(plumbing_calls):
    dialogue, call, score = plumbing_calls["booking-corrected-number"]
    assert not call.error, call.error
    visit = [f for f in call.forms if "visit" in f.name]
    assert len(visit) == 1, score.report()
    assert not [f for f in score.failures if f.startswith("form")], score.report()
    assert _turn(score, "reads the whole booking back for a yes").passed, score.report()


@pytest.mark.sip
def test_a_misheard_number_is_corrected(plumbing_calls):
    dialogue, call, score = plumbing_calls["booking-corrected-number"]
    # The first number may be read back right or misheard over the line; either way the caller's "no, it's ..."
    # replaces it, is read back in turn, and is the one stored.
    assert _turn(score, "reads the corrected number back").passed, score.report()
    stored = [v for f in call.forms for k, v in f.values.items() if "number" in k and "iso" not in k]
    assert [re.sub(r"\D", "", v) for v in stored] == ["2470103458"], score.report()  # the correction, not the first


@pytest.mark.sip
def test_goodbye_ends_the_call_with_the_bots_bye(plumbing_calls):
    dialogue, call, score = plumbing_calls["booking-corrected-number"]
    last = score.turns[-1]
    assert last.passed, score.report()  # a polite close ...
    assert call.ended_by == "bot" and len(call.turns) == len(dialogue.turns), score.report()  # ... then BYE


@pytest.mark.sip
def test_a_booking_takes_a_keyed_callback_number(plumbing_calls):
    dialogue, call, score = plumbing_calls["booking-keyed-number"]
    assert _turn(score, "reads the keyed number back digit by digit").passed, score.report()
    assert score.passed, score.report()  # stored with every field, the keyed number among them, and closed


@pytest.mark.sip
def test_an_unsure_name_is_confirmed_then_transferred(plumbing_calls):
    dialogue, call, score = plumbing_calls["transfer-unsure-confirmed"]
    asked, went = score.turns[0], score.turns[1]
    assert asked.passed, score.report()  # "Priya Shah, is that right?" ...
    assert went.passed, score.report()  # ... "yes" ...
    assert call.transferred_to.startswith("Priya Shah <sip:priya@127.0.0.1:5197>"), call.transferred_to  # REFER
    assert "603" in call.transferred_to  # the test caller declined it: the bot carried on and closed
    assert score.passed, score.report()


# --- a model that invents ------------------------------------------------------------------------------------


class InventingModel(BaseHTTPRequestHandler):
    """An OpenAI-compatible /v1/chat/completions that always answers INVENTED (streamed as SSE when asked)."""

    asked: list[dict] = []

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        InventingModel.asked.append(body)
        base = {"id": "chatcmpl-1", "created": int(time.time()), "model": body.get("model", "scripted")}
        if not body.get("stream"):
            self._send("application/json", json.dumps({**base, "object": "chat.completion", "choices": [
                {"index": 0, "message": {"role": "assistant", "content": INVENTED}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}}).encode())
            return
        chunk = {**base, "object": "chat.completion.chunk"}
        pieces = [{"role": "assistant", "content": ""}] + [{"content": w + " "} for w in INVENTED.split()]
        events = [{**chunk, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in pieces]
        events.append({**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        events.append({**chunk, "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 20,
                                                         "total_tokens": 30}})
        data = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
        self._send("text/event-stream", data.encode())

    def _send(self, kind: str, data: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def inventing_bot(workdir):
    server = ThreadingHTTPServer(("127.0.0.1", 0), InventingModel)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    bot = start_bot(workdir / "inventing", f'[llm]\nbackend = "openai"\nbase_url = "{url}"\nmodel = "scripted"\n'
                                          '[memory]\nafter_call_llm = "off"\n')
    yield bot
    bot.stop()
    server.shutdown()


@pytest.mark.sip
def test_an_invented_price_is_never_heard(inventing_bot, voices, workdir, transcriber):
    dialogue = Dialogue("invention", "a question no fact answers, put to a model that invents a price", (
        dont_know("Do you sell gift cards?", avoid=(INVENTED_PRICE, "baker")),
        goodbye("Okay, thanks. Bye."),
    ), Outcome(closed=True))
    InventingModel.asked.clear()
    call = play(inventing_bot, dialogue, "inventing-0", voices, workdir)
    score = score_dialogue(dialogue, call)
    assert any(body.get("stream") for body in InventingModel.asked), "the model was never asked"
    reply = score.turns[0]
    assert not re.search(INVENTED_PRICE, reply.got, re.IGNORECASE), reply.got
    assert re.search(DONT_KNOW, reply.got, re.IGNORECASE), score.report()  # the honest fallback instead
    heard = transcriber.transcribe(read_wav(workdir / "heard-inventing-0.wav").tobytes()).text
    assert not re.search(INVENTED_PRICE, heard, re.IGNORECASE), heard  # not a word of it reached the caller


# --- the judge itself, without calls ---------------------------------------------------------------------------


@pytest.mark.unit
def test_a_number_read_back_matches_in_figures_or_words_only_when_every_digit_is_right():
    pattern = re.compile(number("5550107788"))
    assert pattern.search("I have 5 5 5, 0 1 0, 7 7 8 8. Is that right?")
    assert pattern.search("That's five five five, oh one zero, seven seven eight eight?")
    assert not pattern.search("I have 5 5 5, 0 1 0, 7 7 8 9. Is that right?")


def _call_of(dialogue: Dialogue, replies: list[str], ended_by: str, forms: tuple[StoredForm, ...],
             transferred_to: str = "") -> DialogueCall:
    turns = tuple(PlayedTurn("", reply, 0.8, "speech") for reply in replies)
    return DialogueCall("u", "Hello, this is Joe at Acme Plumbing.", turns, ended_by, "", transferred_to, forms, ())


@pytest.mark.unit
def test_scoring_is_generous_on_wording_and_strict_on_substance():
    dialogue = PLUMBING.dialogue("booking-keyed-number")
    replies = ["Sure. What name shall I put it under?", "Thanks Tom. And the address for the visit?",
               "Got it. What's wrong with it?", "When is good for you?", "What number can we reach you on?",
               "That's 5 5 5, 0 1 4, 2 2 3 3, right?", "So: Tom Brennan, 2 Mill Lane, the boiler, Thursday. OK?",
               "Thank you, that's booked.", "Thank you for calling. Bye!"]
    right = StoredForm("book a visit", {"name": "Tom Brennan", "address": "2 Mill Lane, Riverside",
                                        "problem": "the boiler won't fire up", "preferred time": "Thursday afternoon",
                                        "callback number": "5550142233"})
    score = score_dialogue(dialogue, _call_of(dialogue, replies, "bot", (right,)))
    assert score.passed and all(t.passed for t in score.turns), score.report()

    wrong_digit = StoredForm(right.name, {**right.values, "callback number": "5550142239"})
    score = score_dialogue(dialogue, _call_of(dialogue, replies, "bot", (wrong_digit,)))
    assert not score.passed and "number" in score.failures[0]
    score = score_dialogue(dialogue, _call_of(dialogue, replies, "caller", (right,)))
    assert not score.passed and not score.turns[-1].passed  # no BYE from the bot: not closed
    score = score_dialogue(dialogue, _call_of(dialogue, replies[:4], "bot", (right,)))
    assert [t.passed for t in score.turns[4:]] == [False] * 5  # turns never played fail


@pytest.mark.unit
def test_the_forms_a_call_stored_are_read_from_the_bots_database():
    import sqlite3

    from memory.forms import FormStore

    db = sqlite3.connect(":memory:")
    store = FormStore(db)
    store.save("eval-1", 7, "take a message", {"for whom": "Priya Shah", "message": "Call me back",
                                                "callback number": "5550102291"})
    store.save("eval-1", 8, "book a visit", {"name": "Someone else"})
    forms, messages = stored_forms(db, 7)
    assert forms == (StoredForm("take a message", {"for whom": "Priya Shah", "message": "Call me back",
                                                   "callback number": "5550102291"}),) and messages == ()


def test_the_scripted_caller_answers_the_bots_checks_as_a_person_would():
    """A transfer asked for by name, or a number said aloud: when the bot checks it ("Sales, is that right?",
    "That's 5 5 5 ... Is that right?"), the caller says yes if it has it right and restates it if not; a yes is
    left to the script when its next turn already answers the check. Keys are never checked. An offer is taken
    when it is what they asked for; a form read back is checked part by part."""
    from employai.harness.dialer import Listening, judged
    from employai.harness.dialogues.script import (
        NAME,
        NAMED,
        Fix,
        check_for,
        digits_in_words,
        keys,
        review,
        say,
        starts,
    )

    transfer = (say("Put me through to sales, please.", "transfers", transfers_to="Sales"),
                goodbye("Thanks, bye."))
    check = check_for(transfer, 0)
    assert check is not None and check.yes == "Yes, please." and check.no == "No, Sales, please."
    assert re.search(check.asks, "Sales, is that right?") and re.search(check.right, "sales, is that right?", re.I)
    assert not re.search(check.right, "Priya Shah, is that right?", re.I)
    assert check_for(transfer, 1) is None

    said = say("It's five five five, oh one oh, seven seven eight eight.", "reads back", number("5550107788"))
    answered = check_for((said, say("Yes, that's right.", "reads the form back")), 0)
    assert answered is not None and answered.digits and answered.yes == ""  # the script's next turn says yes
    assert answered.no == "No, it's five five five, zero one zero, seven seven eight eight."
    assert re.search(answered.right, "That's 5 5 5, 0 1 0, 7 7 8 8. Is that right?")
    assert not re.search(answered.right, "That's 5 5 5, 0 1 0, 7 7 8. Is that right?")
    assert digits_in_words("5550107788") == "five five five, zero one zero, seven seven eight eight"
    assert answered.keys == "5550107788#" and check.keys == ""  # a number asked for on the keypad is keyed
    assert check_for((keys("5550142233#", "reads back", number("5550142233")),), 0) is None

    # offered something other than what they asked for, the caller says no and what they want; offered it, yes
    request = starts("Can I come in to have a sore tooth looked at?", "book an appointment", "starts it", NAME)
    offer = check_for((request,), 0)
    assert offer is not None and offer.yes == "Yes, please." and re.search(offer.asks, "Would you like me to x?", re.I)
    assert offer.no == "No, I'd like to book an appointment, please."
    assert re.search(offer.right, "Would you like me to book an appointment for you?", re.I)
    for other in ("Would you like me to take a message for you?", "Would you like me to cancel an appointment?"):
        assert not re.search(offer.right, other, re.I)

    # a form read back: each part the caller gave is checked on its own, in the order the bot reads them
    read_back = review("Yes, that's right.", "reads it back", fixes=(
        Fix(NAMED, "margaret|hughes", "No, my name is Margaret Hughes."),
        Fix("address", "elm", "No, the address is Fourteen Elm Grove.")))
    listening = Listening(0, asks=check_for((read_back,), 0).asks,
                          fixes=[[f.part, f.right, f.say] for f in read_back.fixes])
    heard = ("Let me check I have that right: name, Margaret Views; address, 14 Old Grove, Springfield; problem, a"
             " leak. Is that all correct?")
    assert re.search(listening.asks, heard)
    assert judged(listening, heard) == (False, "No, the address is Fourteen Elm Grove.")
    assert judged(listening, heard.replace("Old", "Elm")) == (True, "")
    assert judged(listening, heard.replace("Old", "Elms")) == (True, "")  # heard alike: the caller's own street
    changed = "Thank you, I've changed the address to 14 Elm Grove. Is that all correct now?"
    assert re.search(listening.asks, changed) and judged(listening, changed) == (True, "")  # the name is not in it


@pytest.mark.unit
def test_another_whisper_runs_the_eval_with_its_own_doubt_threshold(tmp_path):
    assert model_toml(None, None) == ""
    toml = model_toml(None, None, str(tmp_path), -0.85)
    parsed = tomllib.loads(toml)["stt"]
    assert parsed == {"model": str(tmp_path.resolve()), "unsure_logprob": -0.85}
    assert config_from_dict({"stt": {"unsure_logprob": -0.85}}).stt.unsure_logprob == -0.85
