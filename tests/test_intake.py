"""Intake forms: field parsing by type, the form dialogue in code (FormRunner), the forms' configuration, storage on a
real SQLite file (a caller's memory, the staff's task list, forgetting, an old database), notifying the staff through
a real command and a real local HTTP server, and `employai tasks` as a subprocess."""

from __future__ import annotations

import asyncio
import json
import shlex
import sqlite3
import subprocess
import sys
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from brain.fields import (
    Parsed,
    correct_number,
    name_in_clauses,
    parse,
    parse_yes_no,
    read_back_digits,
    readback,
    spoken_digits,
)
from brain.form_request import problem_from_request
from brain.intake import FormRunner
from brain.switchboard import Directory
from employai.runtime.keypad import asked_number
from employai.runtime.notify import Notifier, form_payload
from memory.transcripts import TranscriptStore
from sip_config import ConfigError, config_from_dict, load_config
from sip_config.schema import FormField, FormSettings, NotifySettings

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]

NOW = datetime(2026, 3, 4, 11, 0)  # a Wednesday morning
VISIT, MESSAGE = load_config().forms
DENTAL = str(Path(__file__).parent / "data" / "dental.toml")
ALICE = "+15550101"


def _runner(form: FormSettings = VISIT, **kwargs) -> FormRunner:
    return FormRunner(form, clock=lambda: NOW, **kwargs)


def test_a_part_given_before_is_corrected_by_name_while_another_is_asked():
    runner = _runner()
    _talk(runner, "Sam Porter", "Twenty two Oak Road", "The boiler is leaking", "Tomorrow morning")
    step = runner.answer("No, the address is 22 Oak Road, Hillside.")  # asked for the number
    assert step.say.startswith("Thank you, I've changed the address to 22 Oak Road, Hillside.") and step.expects_number
    assert step.say.endswith(VISIT.fields[4].prompt) and runner.values["address"] == "22 Oak Road, Hillside"
    runner = _runner()
    _talk(runner, "Sam Porter", "22 Oak Road", "The boiler")
    step = runner.answer("Sorry, my name is Sam Potter.")  # asked when
    assert "changed the name to Sam Potter" in step.say and runner.values["name"] == "Sam Potter"
    assert step.say.endswith(VISIT.fields[3].prompt)
    runner = _runner()  # words about another part that are not a value of it answer the question asked
    _talk(runner, "Sam Porter", "22 Oak Road")
    runner.answer("Sorry, the name of the part is a thermostat.")
    assert runner.values["name"] == "Sam Porter" and "thermostat" in runner.values["problem"]
    runner = _runner()  # while free text is asked, all of it is the answer
    _talk(runner, "Sam Porter", "22 Oak Road")
    runner.answer("No, the house is fine, it's the boiler in the flat at 24 Oak Road.")
    assert runner.values["address"] == "22 Oak Road" and "boiler" in runner.values["problem"]
    runner = _runner()  # a text part is not replaced while another is asked ("and the problem is also ...")
    _talk(runner, "Sam Porter", "22 Oak Road", "The boiler is leaking", "tomorrow")
    runner.answer("Sorry, the problem is also the radiator.")
    assert runner.values["problem"] == "The boiler is leaking"
    runner = _runner()  # an address is corrected by the address itself, not words around one
    _talk(runner, "Sam Porter", "22 Oak Road", "The boiler is leaking")
    runner.answer("No, the street is flooded on Oak Road, 3 drains are blocked.")
    assert runner.values["address"] == "22 Oak Road"
    runner = _runner()  # the part named, its new value not heard plainly: asked again, then the number
    _talk(runner, "Sam Porter", "22 Oak Road", "The boiler is leaking", "tomorrow")
    step = runner.answer("Nope, the address is 24 oh, pro.")  # "twenty four Oak Road" over a bad line
    assert step.say == f"Of course. {VISIT.fields[1].prompt}" and not step.expects_number
    step = runner.answer("24 Oak Road")
    assert step.say.endswith(VISIT.fields[4].prompt) and runner.values["address"] == "24 Oak Road"
    assert runner.answer("five five five, zero one three, four four one two").say.startswith("That's 5 5 5, 0 1 3,")
    runner = _runner()  # a number is answered as a number, not as a change of the address
    _talk(runner, "Sam Porter", "22 Oak Road", "The boiler", "tomorrow")
    assert runner.answer("no, five five five, zero one zero seven").say.startswith("That's 5 5 5, 0 1 0 7.")


def test_a_no_that_mentions_a_part_answers_a_yes_or_no_question():
    booking = load_config(DENTAL).forms[0]
    runner = _runner(booking)
    _talk(runner, "Grace Miller", "A cleaning with the hygienist", "Wednesday afternoon")
    runner.answer("No, this is my first time.")  # asked "have you been to us before?"; not about the time
    assert runner.values["been before"] == "no" and runner.values["preferred time"] == "Wednesday afternoon"
    runner = _runner(booking)  # a time given plainly with the no still changes it
    _talk(runner, "Grace Miller", "A cleaning with the hygienist", "Wednesday afternoon")
    step = runner.answer("No, the time should be Thursday at ten.")
    assert runner.values["preferred time"] == "Thursday at ten" and "been before" not in runner.values
    assert step.say.endswith(booking.fields[3].prompt)
    for correction in ("No, the time is wrong.", "Sorry, the time is wrong.", "No, can we change the time?"):
        runner = _runner(booking)  # the part named as a part, no new value: that part is asked again
        _talk(runner, "Grace Miller", "A cleaning with the hygienist", "Wednesday afternoon")
        assert runner.answer(correction).say == f"Of course. {booking.fields[2].prompt}", correction
        assert "been before" not in runner.values
    runner = _runner(booking)
    _talk(runner, "Grace Miller", "A cleaning with the hygienist", "Wednesday afternoon")
    runner.answer("No, not this time.")  # "this time" is no part named
    assert runner.values["been before"] == "no" and runner.values["preferred time"] == "Wednesday afternoon"
    runner = _runner(booking)
    _talk(runner, "Grace Miller", "A cleaning with the hygienist", "Wednesday afternoon")
    runner.answer("Sorry, yes, a long time ago.")
    assert runner.values["been before"] == "yes" and runner.values["preferred time"] == "Wednesday afternoon"
    runner = _runner(booking)  # the new value is what follows the part's name
    _talk(runner, "Grace Miller", "A cleaning with the hygienist", "Wednesday afternoon")
    runner.answer("No, I haven't, but the time should be Thursday at ten.")
    assert runner.values["preferred time"] == "Thursday at ten"


def test_the_form_says_what_the_next_answer_is_for_the_transcriber():
    runner = _runner()
    seen = [runner.start() and runner.expects]
    for said in ("Sam Porter", "22 Oak Road", "The boiler is leaking", "tomorrow morning",
                 "five five five, zero one three, four four one two", "yes"):
        runner.answer(said)
        seen.append(runner.expects)
    # the name, the address, the problem, when, the number, its read-back, the whole form's read-back
    assert seen == ["name", "address", "", "when", "digits", "digits", ""], seen
    message = _runner(MESSAGE)
    message.start()
    assert message.expects == ""  # whom it is for: one of ours, heard with the business's words


def _parsed(kind: str, said: str) -> Parsed:
    parsed = parse(kind, said, NOW)
    assert parsed is not None, said
    return parsed


def _talk(runner: FormRunner, *turns: str):
    step = runner.start()
    said = [step.say]
    for turn in turns:
        step = runner.answer(turn)
        said.append(step.say)
    return step, said


# --- fields ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("said", "name"), [
    ("My name is Alice Martin.", "Alice Martin"), ("It's alice martin calling", "Alice Martin"),
    ("Yes, this is Bob.", "Bob"), ("It's for Stella, please.", "Stella"), ("the sales team", "Sales Team"),
    ("Could you give it to Stella?", "Stella"), ("Martin, M-A-R-T-Y-N.", "Martyn"),
    ("Angus McDonald", "Angus McDonald"), ("Sorry, my surname is Khan.", "Khan"), ("You can call me Sam.", "Sam"),
    ("Mine is Sam Ortiz.", "Sam Ortiz"), ("It's me, Sam Ortiz.", "Sam Ortiz"), ("The tenant is Sam Ortiz", "Sam Ortiz"),
    ("Put me down as Sam", "Sam"), ("Sam Will Jones", "Sam Will Jones"), ("My husband is John Smith", "John Smith"),
    ("The name on the booking is Sam Ortiz", "Sam Ortiz"),
])
def test_a_name_is_found_in_what_the_caller_says(said, name):
    assert _parsed("name", said).value == name


def test_a_name_said_with_more_is_found_in_its_own_clause():
    assert name_in_clauses("Sam Ortiz, my boiler is leaking").value == "Sam Ortiz"
    assert name_in_clauses("Lovely, it's Sam. The tap drips.").value == "Sam"
    for said in ("Lovely, thanks, bye.", "Actually, never mind. I'll call back later.", "14 Elk Grove, Springfield.",
                 "It's Thursday, the boiler broke down", "Sam Ortiz"):  # a first word; a place; a day; one clause
        assert name_in_clauses(said) is None, said


@pytest.mark.parametrize("said", ["I'm calling about my boiler", "I don't know", "Sorry?", "Call 555 0101",
                                  "Can you repeat that?", "Just a second", "my pump is making a racket",
                                  "Just a sec, let me turn the TV down", "It's the same as last time",
                                  "Tell him the parts for the boiler have arrived", "My wife is pregnant.",
                                  "Can you book me as an emergency?", "It's me calling back.",
                                  "The name on the booking is wrong."])
def test_what_is_not_a_name_is_refused(said):
    assert parse("name", said) is None


@pytest.mark.parametrize("said", [
    "My number is 555 010 7788", "five five five, oh one oh, seven seven eight eight", "555-010-7788",
    "double five five oh one oh seven seven eight eight", "Oh, it's 5550107788.", "My phone number is 5550107788.",
])
def test_a_phone_number_is_read_from_words_and_digits_alike(said):
    assert _parsed("phone", said).value == "5550107788"
    assert readback("phone", "5550107788") == "5 5 5, 0 1 0, 7 7 8 8"


def test_numbers_are_read_back_in_groups_and_too_short_ones_refused():
    assert read_back_digits("5550107") == "5 5 5, 0 1 0 7"
    assert read_back_digits("02079460958") == "0 2 0, 7 9 4 6, 0 9 5 8"
    assert parse("phone", "five five five") is None and spoken_digits("this one, oh sorry") == ""
    assert parse("phone", "1234567890123456") is None


@pytest.mark.parametrize(("said", "number"), [
    ("no, eight three five two", "5550108352"), ("no, the last four digits are 8352", "5550108352"),
    ("no, the last digit is nine", "5550107789"), ("the first three are 556", "5560107788"),
    ("no, it's 555 010 9999", "5550109999"), ("no", None),
])
def test_a_correction_replaces_the_number_or_its_tail(said, number):
    assert correct_number("5550107788", said) == number


@pytest.mark.parametrize(("said", "value"), [
    ("12 High Street", "12 High Street"), ("I live at Rose Cottage", "Rose Cottage"),
    ("my mum's house in Leeds", "my mum's house in Leeds"), ("Leeds", None), ("I don't know", None),
    ("what's the address", None), ("5 5 5 0 1 3 4 4 1 2", None), ("90210", "90210"),  # a phone number is not one
])
def test_an_address_needs_a_number_a_street_word_or_a_few_words(said, value):
    parsed = parse("address", said)
    assert (parsed.value if parsed else None) == value


@pytest.mark.parametrize(("said", "words", "iso"), [
    ("Tomorrow morning", "Tomorrow morning", "2026-03-05T09:00"),
    ("Friday afternoon would be best", "Friday afternoon", "2026-03-06T14:00"),
    ("Friday at 3", "Friday at 3", "2026-03-06T15:00"),
    ("this afternoon", "this afternoon", "2026-03-04T14:00"),
    ("any time next week", "any time next week", None),
    ("as soon as possible, please", "as soon as possible", None),
    ("It was thirsty at 2 in the afternoon", "It was Thursday at 2 in the afternoon", "2026-03-05T14:00"),
    ("Wensday at ten", "Wednesday at ten", "2026-03-11T10:00"),  # a weekday misheard, when no day is named
    ("today at five", "today at five", "2026-03-04T17:00"),  # "today" is not "Tuesday"
    # courtesy after the time is not said back; a condition that says more is the caller's answer
    ("Thursday morning, if that works", "Thursday morning", "2026-03-05T09:00"),
    ("friday if you've got a slot", "friday", "2026-03-06T10:00"),
    ("Monday at nine, if you have it.", "Monday at nine", "2026-03-09T09:00"),
    ("Friday afternoon as long as it's after three", "Friday afternoon as long as it's after three",
     "2026-03-06T14:00"),
    ("Monday, if not then Tuesday", "Monday, if not then Tuesday", "2026-03-09T10:00"),
    ("Thursday morning if Dr Okafor is free", "Thursday morning if Dr Okafor is free", "2026-03-05T09:00"),
    ("Friday if it's late in the day", "Friday if it's late in the day", "2026-03-06T10:00"),
])
def test_a_time_keeps_the_callers_words_and_the_moment_they_mean(said, words, iso):
    parsed = _parsed("datetime", said)
    assert parsed.value == words and parsed.extra.get("iso") == iso


def test_free_text_needs_two_words_and_is_said_back_to_the_caller():
    assert parse("text", "Leaking") is None and parse("text", "I don't know") is None
    assert _parsed("text", "um, my boiler is banging").value == "My boiler is banging"
    assert readback("text", "My boiler is banging and I am worried") == "your boiler is banging and you are worried"


@pytest.mark.parametrize(("said", "meaning"), [
    ("Yes", True), ("yeah that's right", True), ("Yep.", True), ("Correct.", True), ("Sure", True),
    ("right", True), ("No, that's right.", True), ("that's all correct", True), ("Everything's fine.", True),
    ("Nope", False), ("no, eight three five two", False),
    ("that's not right", False), ("Wrong.", False), ("yes, but the time is wrong", False), ("I'm not sure", None),
    ("what?", None), ("I need a plumber", None),
])
def test_yes_and_no_are_parsed_in_one_place(said, meaning):
    assert parse_yes_no(said) is meaning


# --- the dialogue ---------------------------------------------------------------------------------------------

def test_a_booking_by_voice_is_asked_field_by_field_read_back_and_confirmed():
    runner = _runner(request="My water heater is leaking, can someone come and fix it?")
    step, said = _talk(runner, "It's Alice Martin", "12 High Street", "tomorrow morning",
                       "five five five, oh one oh, seven seven eight eight", "yes", "yes")
    assert said[0] == "Certainly. Can I take your name, please?"
    assert said[1] == "Thanks, Alice. What's the address for the visit?"
    assert "problem" not in said[2]  # the request said what the problem is
    assert said[4] == "That's 5 5 5, 0 1 0, 7 7 8 8. Is that right?"
    assert said[5].endswith("Is that all correct?") and "your water heater is leaking" in said[5]
    assert step.done and step.say == VISIT.done_text
    assert step.values == {"problem": "My water heater is leaking", "name": "Alice Martin",
                           "address": "12 High Street", "preferred time": "tomorrow morning",
                           "preferred time iso": "2026-03-05T09:00", "callback number": "5550107788"}


def test_a_phone_question_expects_keys_and_keyed_digits_are_read_back():
    runner = _runner(MESSAGE, prefill={"for": "Sales"})
    step, said = _talk(runner, "Tell them the parts have arrived")
    assert step.expects_number and asked_number(step.say) is not None
    step = runner.answer("My phone number is 5550107788.")  # how the keypad hands keyed digits over
    assert step.say == "That's 5 5 5, 0 1 0, 7 7 8 8. Is that right?" and not step.expects_number
    assert runner.answer("yes").say.startswith("All right. Let me check I have that right: for whom, Sales;")
    assert runner.answer("yes").values["for whom"] == "Sales"


def test_a_misheard_number_is_corrected_and_confirmed_again():
    runner = _runner(MESSAGE)
    _talk(runner, "Stella", "the parts have arrived", "555 010 7788")
    assert runner.answer("no, eight three five two").say == "So that's 5 5 5, 0 1 0, 8 3 5 2. Is that right?"
    assert runner.answer("no, it's 555 777 1234").say == "So that's 5 5 5, 7 7 7, 1 2 3 4. Is that right?"
    again = runner.answer("no")  # wrong twice: the line garbles it, so the keypad is asked for
    assert again.expects_number and "keypad" in again.say and "number again" not in again.say
    runner.answer("My callback number is 5550107788.")  # the keys, as the keypad hands them over
    assert "5 5 5, 0 1 0, 7 7 8 8" in runner.answer("yes").say
    assert runner.answer("yes").values["callback number"] == "5550107788"


def test_a_no_offers_the_keypad_and_the_same_digits_heard_again_ask_for_it():
    runner = _runner(MESSAGE)
    _talk(runner, "Stella", "the parts have arrived", "555 010 778")  # a repeated digit lost on the line
    first = runner.answer("no")
    assert first.expects_number and "number again" in first.say and "keypad" in first.say
    assert runner.answer("five five five, zero one zero, 778").say == "That's 5 5 5, 0 1 0, 7 7 8. Is that right?"
    keypad = runner.answer("No, it's 555 010 778.")  # restated, and heard the same way again
    assert keypad.expects_number and "keypad" in keypad.say and "again" not in keypad.say
    assert runner.answer("My callback number is 5550107788.").say.startswith("That's 5 5 5, 0 1 0, 7 7 8 8.")


def test_the_same_number_said_back_without_a_no_confirms_it():
    runner = _runner(MESSAGE)
    _talk(runner, "Stella", "the parts have arrived", "555 010 7788")
    assert "Let me check" in runner.answer("five five five oh one oh seven seven eight eight").say


def test_a_word_heard_as_a_digit_before_number_is_is_not_part_of_the_number():
    runner = _runner(MESSAGE, prefill={"for whom": "Stella"})
    _talk(runner, "please call me back")
    step = runner.answer("Nine number is two four seven, zero one zero three four five six.")  # "My number is"
    assert step.say == "That's 2 4 7, 0 1 0, 3 4 5 6. Is that right?"


def test_a_number_said_in_pieces_is_put_together():
    runner = _runner(MESSAGE, prefill={"for whom": "Stella"})
    _talk(runner, "please call me back")
    step = runner.answer("555")
    assert step.say == "Go on." and step.expects_number
    assert runner.answer("0107788").say == "That's 5 5 5, 0 1 0, 7 7 8 8. Is that right?"


def test_memory_is_not_asked_again_and_is_said_once():
    runner = _runner(known={"name": "Alice Martin", "callback number": "5550107788", "address": ""})
    step, said = _talk(runner, "14 The Green", "The boiler is banging", "whenever")
    assert said[0] == ("Certainly. I have your name as Alice Martin and your callback number as 5 5 5, 0 1 0, 7 7 8 8."
                       " What's the address for the visit?")
    assert "Alice Martin" not in " ".join(said[1:-1]) and "name, Alice Martin" in said[-1]
    assert runner.answer("yes").done


def test_wrong_answers_get_a_hint_twice_then_the_form_moves_on():
    runner = _runner()
    step, said = _talk(runner, "I'm not sure", "Sorry?", "uh")
    assert said[1] == "Sorry, I didn't catch the name. Can I take your name, please?" == said[2]
    assert said[3] == "Never mind, let's move on. What's the address for the visit?"  # a name stays empty
    _, said = _talk(_runner(), "Alice", "somewhere", "no idea", "by the river")
    assert said[-1].endswith(VISIT.fields[2].prompt)  # a free field keeps the words as said
    assert _talk(_runner(), "Alice", "1 Main St", "Leaking", "Leaking", "Leaking")[0].values["problem"] == "Leaking"


def test_a_problem_said_while_a_short_answer_is_asked_is_told_it_comes_later():
    step, said = _talk(_runner(), "My Grundfos pump is making a racket. Could you swap it out?")  # a real call
    assert said[1] == f"We'll come to that in a moment. {VISIT.fields[0].prompt}" and not step.values
    runner = _runner()
    _talk(runner, "My pump is making a racket", "Sam Porter", "22 Oak Road")  # then the problem is asked, as ever
    assert runner.values == {"name": "Sam Porter", "address": "22 Oak Road"} and runner.field is VISIT.fields[2]
    callback = FormSettings(name="call back", fields=(VISIT.fields[4], VISIT.fields[2]))  # the number asked first
    step, said = _talk(_runner(callback), "The water is coming through the kitchen ceiling now")
    assert said[1].startswith("We'll come to that in a moment.") and step.expects_number
    # not when the problem is given already, nor for a message's recipient, nor for words that state nothing
    _, said = _talk(_runner(), "Sam Porter", "22 Oak Road", "The boiler", "The radiators are cold too")
    assert said[-1].startswith("Sorry, I didn't catch a time.")
    _, said = _talk(_runner(MESSAGE), "Tell him the parts for the boiler have arrived")
    assert not said[1].startswith("We'll come to that")
    step, said = _talk(_runner(), "The line under my sink is leaking.")  # a water line is no telephone line
    assert said[1].startswith("We'll come to that") and not step.values
    step, said = _talk(_runner(MESSAGE), "Hi, it's Priya, my boiler is leaking.")  # asked for whom: not the caller
    assert "for whom" not in step.values
    for aside in ("Hang on, let me find a pen", "I'd rather not say", "Just a sec, let me turn the TV down",
                  "Sorry, the line is really bad", "Nguyen Van An"):  # about the line; a name the parser refuses
        assert _talk(_runner(), aside)[1][1].startswith("Sorry, I didn't catch the name."), aside
    for said in ("Sam Ortiz, my boiler is leaking", "My name is Sam Ortiz. The boiler's leaking.",
                 "Hi, it's Sam Ortiz and my boiler's broken"):  # the name said with it is taken
        step, _ = _talk(_runner(), said)
        assert step.values == {"name": "Sam Ortiz"} and step.say == f"Thanks, Sam. {VISIT.fields[1].prompt}", said
    dental = load_config(DENTAL).forms[0]  # the reason asked second: skipped after misses, it is not promised
    step, said = _talk(_runner(dental), "Grace Miller", ".", ".", ".", "My tooth is killing me")
    assert "reason" not in step.values and not said[-1].startswith("We'll come to that")
    _, said = _talk(_runner(), "My pump is making a racket", "The noise is getting worse", "It keeps banging")
    assert said[3].startswith("Never mind, let's move on.")  # a miss all the same: asked at most twice


def test_cancel_and_never_mind_end_the_form_without_storing():
    for said in ("never mind", "Actually, forget it.", "cancel that please", "Oh no, I've changed my mind"):
        step, _ = _talk(_runner(), "Alice Martin", said)
        assert step.cancelled and not step.done
    step, _ = _talk(_runner(MESSAGE), "Stella", "Cancel my Tuesday appointment")
    assert not step.cancelled and step.values["message"] == "Cancel my Tuesday appointment"


def test_a_no_at_the_read_back_asks_which_part_and_changes_it():
    runner = _runner()
    base = ("Alice Martin", "12 High Street", "my sink is blocked", "tomorrow morning", "5550107788", "yes")
    step, _ = _talk(runner, *base)
    assert runner.answer("No").say == "Which part should I change?"
    assert runner.answer("the time").say == "Of course. " + VISIT.fields[3].prompt
    step = runner.answer("Friday afternoon")
    assert step.say == "Thank you, I've changed the preferred time to Friday afternoon. Is that all correct now?"
    step = runner.answer("yes")
    assert step.done and step.values["preferred time iso"] == "2026-03-06T14:00"
    runner = _runner()
    _talk(runner, *base)
    assert "14 The Green" in runner.answer("no, the address is 14 The Green").say
    assert runner.answer("no, the number ends in 8352").say == "So that's 5 5 5, 0 1 0, 8 3 5 2. Is that right?"
    runner.answer("yes")
    step = runner.answer("that's all correct")
    assert step.done and step.values["address"] == "14 The Green" and step.values["callback number"] == "5550108352"
    runner = _runner()  # a free-text part corrected in the same breath
    _talk(runner, *base)
    step = runner.answer("No, the problem is that the boiler keeps cutting out.")
    assert step.say.startswith("Thank you, I've changed the problem to")
    assert runner.answer("yes").values["problem"].lower().startswith("boiler keeps cutting out")
    runner = _runner(MESSAGE)  # a no with a value only one part can take changes that part
    _talk(runner, "Stella", "Call me back about the invoice", "5550107788", "yes")
    step = runner.answer("No, it's for Doctor Okafor.")
    assert step.say.startswith("Thank you, I've changed the for whom to") and "Okafor" in step.say
    colleague = Directory(load_config(Path(__file__).parent / "data" / "dental.toml").transfer).colleague_name
    runner = FormRunner(MESSAGE, colleague=colleague)  # the recipient written as the directory writes them
    _talk(runner, "For doctor or Okafor.", "Call me back about the invoice", "5550107788", "yes")
    assert runner.values["for whom"] == "Dr James Okafor"
    assert runner.answer("No, it's for doctor or Stella.").say.startswith(
        "Thank you, I've changed the for whom to Dr Stella Moreno")  # a colleague, whatever the recogniser added
    runner = FormRunner(MESSAGE, request="Can I leave a message for Okafor?", colleague=colleague)
    assert runner.values["for whom"] == "Dr James Okafor"
    runner = FormRunner(MESSAGE, colleague=colleague)  # nobody in the directory: the name as said
    _talk(runner, "For Priya Shah.")
    assert runner.values["for whom"] == "Priya Shah"
    runner = FormRunner(MESSAGE, colleague=colleague)  # a colleague's surname is not a colleague
    _talk(runner, "For Priya Moreno.", "Call me back", "5550107788", "yes")
    assert runner.values["for whom"] == "Priya Moreno"
    assert runner.answer("No, it's about billing.").say == "Which part should I change?"  # not "for billing"
    booking = FormSettings(name="book an appointment", fields=(FormField("patient name", "name", "Your name?"),
                                                              FormField("reason", "text", "What for?")))
    runner = FormRunner(booking, colleague=colleague)  # not a message: a name is the caller's own
    _talk(runner, "James Okafor")
    assert runner.values["patient name"] == "James Okafor"
    runner = _runner(MESSAGE)  # a title as the recogniser often writes it, in lower case
    _talk(runner, "Stella", "Call me back about the invoice", "5550107788", "yes")
    assert "Okafor" in runner.answer("No, it's for doctor Okafor.").say
    runner = _runner()
    _talk(runner, *base)
    assert "Elm Grove" in runner.answer("No, it's 14 Elm Grove.").say
    for said in ("No, not really.", "No, you got it wrong.", "No, the other one.", "No, doctor."):  # asked which
        runner = _runner(MESSAGE)
        _talk(runner, "Stella", "Call me back about the invoice", "5550107788", "yes")
        assert runner.answer(said).say == "Which part should I change?", said
        runner = _runner()
        _talk(runner, *base)
        assert runner.answer(said).say == "Which part should I change?", said
    runner = _runner()  # naming the part alone still asks for it
    _talk(runner, *base)
    assert runner.answer("no, the problem is wrong").say == "Of course. " + VISIT.fields[2].prompt


def test_a_reply_the_caller_never_heard_changes_nothing():
    runner = _runner()
    runner.start()
    runner.answer("Alice Martin")
    snap = runner.snapshot()
    assert runner.answer("12 High Street").say.endswith(VISIT.fields[2].prompt)
    runner.restore(snap)
    assert runner.values == {"name": "Alice Martin"} and runner.question() == VISIT.fields[1].prompt
    assert runner.answer("14 The Green").values["address"] == "14 The Green"


@pytest.mark.parametrize(("request_text", "problem"), [
    ("My water heater is leaking, can someone come and fix it?", "My water heater is leaking"),
    ("Hi, this is Alice Martin, my sink is blocked and the kitchen is flooding.",
     "My sink is blocked and the kitchen is flooding"),
    ("I'm Alice and my boiler's broken", "My boiler's broken"),
    ("I'd like to book a visit.", ""), ("Good morning, can you send a plumber round?", ""),
    ("Booking a visit please", ""), ("My number is 555 010 7788", ""),
])
def test_the_request_fills_the_problem_only_when_it_states_one(request_text, problem):
    assert problem_from_request(request_text, VISIT) == problem


def test_a_message_request_that_names_the_colleague_does_not_ask_for_whom():
    runner = _runner(MESSAGE, request="Can I leave a message for Stella? Tell her the parts have arrived.")
    step = runner.start()
    assert runner.values == {"for whom": "Stella", "message": "Tell her the parts have arrived"}
    assert step.expects_number and runner.question() == MESSAGE.fields[2].prompt


# --- configuration --------------------------------------------------------------------------------------------

def test_the_default_forms_ask_short_questions_and_phone_questions_open_the_keypad():
    config = load_config()
    assert [f.name for f in config.forms] == ["book a visit", "take a message"]
    assert [f.key for f in VISIT.fields] == ["name", "address", "problem", "preferred time", "callback number"]
    assert [f.key for f in MESSAGE.fields] == ["for whom", "message", "callback number"]
    for form in config.forms:
        for item in form.fields:
            assert item.prompt.endswith("?") and len(item.prompt.split()) <= 14
            assert (asked_number(item.prompt) is not None) == (item.type == "phone")
    assert config.notify == NotifySettings()


@pytest.mark.parametrize(("raw", "key"), [
    ({"forms": [{"name": "a", "fields": [{"key": "x", "prompt": "X?"}]},
                {"name": "b", "fields": [{"key": "x", "type": "postcode", "prompt": "X?"}]}]},
     "forms[1].fields[0].type"),
    ({"forms": [{"name": "a", "fields": [{"key": "x", "typ": "text"}]}]}, "forms[0].fields[0].typ"),
    ({"forms": [{"name": "a", "fields": [{"key": "x", "prompt": "X?"}, {"key": "X", "prompt": "Y?"}]}]},
     "forms[0].fields[1].key"),
    ({"forms": [{"name": "a", "fields": [{"key": "x", "prompt": ""}]}]}, "forms[0].fields[0].prompt"),
    ({"forms": [{"name": "a", "fields": []}]}, "forms[0].fields"),
    ({"forms": [{"name": "", "fields": [{"key": "x", "prompt": "X?"}]}]}, "forms[0].name"),
    ({"forms": {"name": "a"}}, "forms"),
    ({"notify": {"webhook_url": "ftp://x"}}, "notify.webhook_url"),
    ({"notify": {"command": "notify 'unclosed"}}, "notify.command"),
    ({"notify": {"retries": -1}}, "notify.retries"),
    ({"notify": {"retry_s": 0}}, "notify.retry_s"),
])
def test_bad_forms_and_notify_settings_name_their_key(raw, key):
    with pytest.raises(ConfigError) as err:
        config_from_dict(raw)
    assert err.value.key == key


def test_a_file_with_forms_replaces_the_defaults_and_a_bad_one_exits_2(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text('[[forms]]\nname = "book an appointment"\n[[forms.fields]]\nkey = "name"\ntype = "name"\n'
                    'prompt = "Who is the appointment for?"\n')
    assert [f.name for f in load_config(good).forms] == ["book an appointment"]
    bad = tmp_path / "bad.toml"
    bad.write_text(good.read_text().replace('type = "name"', 'type = "postcode"'))
    result = subprocess.run([sys.executable, "-m", "employai", "-c", str(bad), "tasks"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and "forms[0].fields[0].type" in result.stderr and "Traceback" not in result.stderr


# --- storage --------------------------------------------------------------------------------------------------

VALUES = {"name": "Alice Martin", "address": "12 Zanzibar Street", "problem": "Leaking tap",
          "callback number": "5550107788"}


def test_a_completed_form_is_a_task_of_the_call_and_the_callers_memory(tmp_path):
    store = TranscriptStore(tmp_path / "db.sqlite3")
    call = store.start_call("inbound", f"sip:{ALICE}@pbx", ALICE, verified=True)
    alice = store.caller_memory(ALICE)
    form_id = alice.save_form("book a visit", VALUES, call)
    task = store.forms.get(form_id)
    assert task is not None and (task.kind, task.status, task.caller_user, task.call_id, task.title, task.values) == (
        "form", "pending", ALICE, call, "book a visit", VALUES)
    assert [t.id for t in alice.forms()] == [form_id]
    sentences = alice.fact_sentences()
    assert "Your address is 12 Zanzibar Street." in sentences  # the next form skips it
    assert any("you asked us to book a visit" in s and "Leaking tap" in s for s in sentences)
    assert store.caller_memory("+15550102").forms() == []


def test_an_anonymous_callers_form_is_kept_for_the_business_but_is_nobodys_memory(tmp_path):
    store = TranscriptStore(tmp_path / "db.sqlite3")
    call = store.start_call("inbound", "sip:anonymous@pbx", "", claimed_user=ALICE)
    anonymous = store.caller_memory("")
    form_id = anonymous.save_form("take a message", {"for whom": "Stella", "message": "Parts arrived"}, call)
    assert form_id > 0 and anonymous.forms() == [] and anonymous.fact_sentences() == []
    [task] = store.forms.tasks()
    assert task.caller_user == "" and task.caller_id == ALICE and task.values["for whom"] == "Stella"
    store.set_call_identity(call, ALICE)  # proved with a PIN later in the call: the form becomes theirs
    assert [t.id for t in store.caller_memory(ALICE).forms()] == [form_id]


def test_forgetting_a_caller_erases_their_forms_and_nobody_elses(tmp_path):
    store = TranscriptStore(tmp_path / "db.sqlite3")
    for user, street in ((ALICE, "Zanzibar"), ("+15550102", "Kilimanjaro")):
        call = store.start_call("inbound", f"sip:{user}@pbx", user, verified=True)
        store.caller_memory(user).save_form("book a visit", {**VALUES, "address": f"1 {street} Road"}, call)
        claimed = store.start_call("inbound", f"sip:{user}@x", "", claimed_user=user)
        store.caller_memory("").save_form("take a message", {"message": f"{street} message"}, claimed)
    assert len(store.forms.tasks()) == 4
    store.caller_memory(ALICE).forget()
    left = store.forms.tasks(include_done=True)
    assert len(left) == 2 and all("Kilimanjaro" in json.dumps(t.values) for t in left)
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("db.sqlite3*"))
    assert b"zanzibar" not in raw.lower()


def test_an_existing_database_gets_the_details_column(tmp_path):
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE followups (id INTEGER PRIMARY KEY, caller_user TEXT NOT NULL, call_id INTEGER,"
                " kind TEXT NOT NULL DEFAULT 'callback', request TEXT NOT NULL, due_at REAL,"
                " status TEXT NOT NULL DEFAULT 'pending', created_at REAL NOT NULL)")
    old.execute("INSERT INTO followups (caller_user, call_id, kind, request, created_at)"
                " VALUES (?, NULL, 'message', 'Message for Sam: hello', 1.0)", (ALICE,))
    old.commit()
    old.close()
    store = TranscriptStore(path)
    form_id = store.forms.save(ALICE, None, "book a visit", VALUES)
    assert [(t.kind, t.values) for t in store.forms.tasks()] == [("message", {}), ("form", VALUES)]
    assert store.forms.mark(form_id, "done") and len(store.forms.tasks()) == 1
    assert len(store.forms.tasks(include_done=True)) == 2


# --- notifying the staff --------------------------------------------------------------------------------------

PAYLOAD = form_payload("book a visit", 7, ALICE, VALUES)


def _settings(**kwargs) -> NotifySettings:
    return NotifySettings(**{"retries": 3, "retry_s": 0.05, **kwargs})


def test_the_command_gets_the_form_as_json_on_stdin(tmp_path):
    out = tmp_path / "form.json"
    command = shlex.join([sys.executable, "-c", "import sys; open(sys.argv[1], 'w').write(sys.stdin.read())",
                          str(out)])
    assert asyncio.run(Notifier(_settings(command=command)).send(PAYLOAD))
    sent = json.loads(out.read_text())
    assert sent["form"] == "book a visit" and sent["call_id"] == 7 and sent["caller"] == ALICE
    assert sent["values"] == VALUES and datetime.fromisoformat(sent["created_at"])


def test_a_failing_or_missing_command_is_retried_then_given_up_without_raising(tmp_path):
    count = tmp_path / "count"
    command = shlex.join([sys.executable, "-c", "import sys; open(sys.argv[1], 'a').write('x'); sys.exit(3)",
                          str(count)])
    assert asyncio.run(Notifier(_settings(command=command, retries=2)).send(PAYLOAD)) is False
    assert count.read_text() == "xxx"  # the first try and two retries
    missing = _settings(command=str(tmp_path / "no-such-program"), retries=1)
    assert asyncio.run(Notifier(missing).send(PAYLOAD)) is False


class _FlakyHook(BaseHTTPRequestHandler):
    bodies: list[bytes] = []

    def do_POST(self):  # noqa: N802 - the name http.server calls
        self.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(500 if len(self.bodies) <= 2 else 204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_the_webhook_is_retried_until_it_takes_the_form():
    _FlakyHook.bodies = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FlakyHook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        assert asyncio.run(Notifier(_settings(webhook_url=url)).send(PAYLOAD))
    finally:
        server.shutdown()
        server.server_close()
    assert len(_FlakyHook.bodies) == 3 and json.loads(_FlakyHook.bodies[-1])["values"] == VALUES
    refused = _settings(webhook_url=url, retries=1)  # the server is gone: refused, not raised
    assert asyncio.run(Notifier(refused).send(PAYLOAD)) is False


def test_shutdown_waits_briefly_for_notifications_in_flight(tmp_path):
    out = tmp_path / "late.json"
    command = shlex.join([sys.executable, "-c", "import sys, time; d = sys.stdin.read(); time.sleep(0.3);"
                          " open(sys.argv[1], 'w').write(d)", str(out)])

    async def scenario() -> tuple[int, int]:
        notifier = Notifier(_settings(command=command))
        notifier.submit(PAYLOAD)
        await asyncio.sleep(0.05)
        during = notifier.pending()
        await notifier.close(timeout_s=5.0)
        return during, notifier.pending()

    assert asyncio.run(scenario()) == (1, 0)
    assert json.loads(out.read_text())["form"] == "book a visit"


# --- the operator's listing -----------------------------------------------------------------------------------

def test_employai_tasks_lists_forms_messages_and_callbacks(tmp_path):
    config = tmp_path / "bot.toml"
    config.write_text(f'[data]\ndir = "{tmp_path}"\n')
    store = TranscriptStore(tmp_path / "employai.sqlite3")
    call = store.start_call("inbound", f"sip:{ALICE}@pbx", ALICE, verified=True)
    alice = store.caller_memory(ALICE)
    alice.save_form("book a visit", VALUES, call)
    alice.take_message("Sam", "the parts have arrived", call)
    alice.book_callback("call me back tomorrow at ten", call)
    done = store.forms.save("", None, "take a message", {"message": "old one"})
    store.forms.mark(done, "done")
    store.close()

    def employai(*args: str) -> str:
        result = subprocess.run([sys.executable, "-m", "employai", "-c", str(config), "tasks", *args],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout

    listed = json.loads(employai("--json"))
    assert [t["kind"] for t in listed] == ["form", "message", "callback"]
    assert listed[0]["values"] == VALUES and listed[0]["call_id"] == call and listed[0]["caller"] == ALICE
    assert listed[2]["due_at"] is not None and datetime.fromisoformat(listed[0]["created_at"])
    assert len(json.loads(employai("--json", "--all"))) == 4
    text = employai()
    assert "book a visit" in text and "address: 12 Zanzibar Street" in text and "Message for Sam" in text
    assert "old one" not in text and "old one" in employai("--all")
