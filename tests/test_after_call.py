"""The after-call team (memory keeper + task agent, AutoGen agents in a round-robin team): grounded facts and
tasks are kept, invented ones dropped; with the real bundled model it runs end to end and never corrupts memory."""

from __future__ import annotations

import asyncio
import dataclasses
import re

import pytest
from autogen_ext.models.replay import ReplayChatCompletionClient

from brain.after_call import AfterCallTeam, grounded_facts
from employai.runtime.conversation import review_call, wants_after_call_review
from memory.transcripts import TranscriptStore
from sip_config import load_config

CALL = [("bot", "Hello, this is Joe at Acme Plumbing."),
        ("caller", "Hi, this is Alice Martin, my order number is 4471."),
        ("caller", "My dog Rex keeps chewing the pipes under the sink. Please send me the quote by email."),
        ("bot", "Of course, I will send you the quote by email.")]


def _store_with_call(open_store):
    store = open_store()
    call_id = store.start_call("inbound", "sip:+15550101@x", "+15550101")
    memory = store.caller_memory("+15550101")
    for role, text in CALL:
        store.add_turn(call_id, role, text)
        if role == "caller":
            memory.learn_from(text)
    return store, call_id, memory


@pytest.mark.unit
def test_the_team_keeps_only_what_the_caller_said(open_store):
    store, call_id, memory = _store_with_call(open_store)
    client = ReplayChatCompletionClient([
        "pet: dog called Rex\nshoe size: 44\nfavourite colour: blue\nproblem: dog chewing pipes under the sink",
        "TASK: send the quote by email\nTASK: book a holiday in Spain",
    ])
    config = load_config()
    config = dataclasses.replace(config, memory=dataclasses.replace(config.memory, after_call_llm="on"))
    review = asyncio.run(review_call(config, client, store, call_id, memory))
    # "dog called Rex": "called" was never said; shoe size and colour were invented
    assert [f.line() for f in review.facts] == ["problem: dog chewing pipes under the sink"]
    human = memory.human().value
    assert "order number: 4471" in human and "name: Alice Martin" in human
    assert "shoe size" not in human and "blue" not in human
    assert review.tasks == ["send the quote by email"]
    tasks = [f["request"] for f in store.followups().pending("task")]
    assert tasks == ["send the quote by email"]
    store.close()


@pytest.mark.unit
def test_facts_must_be_in_the_callers_words():
    words = {"dog", "rex", "pipes", "4471"}
    assert [f.value for f in grounded_facts("pet: dog Rex\norder: 4471\nnote: 9999", words, "")] == ["dog Rex", "4471"]
    assert grounded_facts("pet: dog Rex", words, "pet: dog Rex") == []  # already known


@pytest.mark.unit
def test_the_bundled_model_leaves_memory_to_the_deterministic_keeper_by_default():
    config = load_config()
    assert not wants_after_call_review(config)
    stronger = dataclasses.replace(config, llm=dataclasses.replace(config.llm, model="/models/qwen.gguf"))
    assert wants_after_call_review(stronger)


@pytest.mark.engine
def test_the_team_runs_on_the_real_bundled_model_without_harming_memory(tmp_path, config):
    from brain.model_clients import build_model_client
    from sip_config import resolve_models

    store, call_id, memory = _store_with_call(lambda: TranscriptStore(tmp_path / "t.sqlite3"))  # the model's test
    before = memory.human().value
    client = build_model_client(config.llm, resolve_models(config))
    review = asyncio.run(AfterCallTeam(client, config.profile).review(
        [(t.role, t.text) for t in store.turns(call_id)], before))
    said = set(re.findall(r"[a-z0-9]+", " ".join(text for role, text in CALL if role == "caller").lower()))
    for fact in review.facts:  # whatever the small model wrote, only grounded facts come back
        assert fact.key != "caller" and set(re.findall(r"[a-z0-9]{4,}", fact.value.lower())) <= said, fact
    memory.add_facts(review.facts)
    assert all(line in memory.human().value for line in before.splitlines())
    store.close()
