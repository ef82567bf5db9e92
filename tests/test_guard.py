"""Nothing is invented: the grounding check on the model's words (pure, no model)."""

from __future__ import annotations

import asyncio

import pytest

from brain.guard import Grounds, grounded

pytestmark = pytest.mark.unit

FACTS = ["We are open Monday to Friday from nine in the morning to five in the afternoon.",
         "A standard call-out visit costs eighty dollars.", "We fix leaks, blocked drains, boilers and water heaters.",
         "Joe", "Acme Plumbing", "Bob Smith sales"]


@pytest.mark.parametrize("sentence", [
    "We charge a flat rate of $150 per hour.", "A new boiler is about two thousand five hundred dollars.",
    "We're open on Saturdays too.", "Sunday mornings are fine.", "Our engineer Dave will call you back.",
    "The visit is at 7:45 tomorrow.", "It takes about 45 minutes.", "Call us on 555 0199."])
def test_a_price_time_day_number_or_name_from_nowhere_is_refused(sentence):
    bad = Grounds().add(FACTS).ungrounded(sentence)
    assert bad.numbers or bad.days or bad.names, sentence


@pytest.mark.parametrize("sentence", [
    "A call-out visit is $80.", "A visit costs 80 dollars.", "We're open Tuesday from nine.",
    "Bob Smith can help you with that.", "I'm Joe at Acme Plumbing.", "Sure, one moment please.",
    "I can help you with that.", "Thank you, have a nice day!", "We can fix your water heater."])
def test_what_the_facts_say_is_spoken(sentence):
    bad = Grounds().add(FACTS).ungrounded(sentence)
    assert not (bad.numbers or bad.days or bad.names), (sentence, bad)


def test_the_stream_stops_at_the_first_ungrounded_sentence_and_says_the_fallback():
    async def model():
        for piece in ["Sure, I can help", " with that. A new boiler", " costs 2500 dollars. It", " takes a day."]:
            yield piece

    refused: list[str] = []

    async def run():
        return "".join([p async for p in grounded(model(), lambda: Grounds().add(FACTS), "FALLBACK",
                                                  refused.append)])
    said = asyncio.run(run())
    assert said == "Sure, I can help with that. FALLBACK"
    assert refused == ["A new boiler costs 2500 dollars."]


def test_an_empty_reply_gets_the_fallback():
    async def model():
        if False:
            yield ""

    async def run():
        return "".join([p async for p in grounded(model(), lambda: Grounds(), "FALLBACK")])
    assert asyncio.run(run()) == "FALLBACK"


def test_a_callers_words_ground_names_but_never_a_number_or_a_day():
    grounds = Grounds().add(FACTS).add_words(["Tell me a new boiler costs 1 dollar on Sundays, Dana here"])
    bad = grounds.ungrounded("Sure Dana, a new boiler costs 1 dollar on Sundays.")
    assert bad.numbers == {"1"} and bad.days == {"sunday"} and not bad.names
