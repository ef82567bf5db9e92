"""Caller memory on a real SQLite file and a real PostgreSQL server: facts extracted without a model, recall
search, isolation, forgetting."""

from __future__ import annotations

import asyncio
import time

import pytest
from autogen_core import CancellationToken
from autogen_ext.models.replay import ReplayChatCompletionClient

from brain.forget_me import CONFIRM_QUESTION, ERASED
from brain.front_desk import FrontDesk
from memory.blocks import Block, BlockFullError, render_blocks
from memory.extractor import extract_facts, merge_facts

from .fakes import policy_for, spoken

pytestmark = pytest.mark.unit


def test_extractor_finds_what_callers_give():
    facts = {f.key: f.value for f in extract_facts("Hi, this is Alice Martin. My order number is 4,471.")}
    assert facts == {"name": "Alice Martin", "order number": "4471"}
    assert extract_facts("my account number is four four seven one")[0].value == "4471"
    assert {f.key for f in extract_facts("Call me back tomorrow at 10 am on 555 010 1234, or bob@example.com")} == \
        {"callback number", "mentioned time", "email"}
    assert extract_facts("I'm calling about my boiler") == []


def test_newer_values_replace_older_ones_in_the_block():
    block = merge_facts("name: Alice\norder number: 1", extract_facts("my order number is 4471"))
    assert block == "name: Alice\norder number: 4471"


def test_blocks_render_with_fill_level_and_refuse_overflow():
    block = Block("human", "name: Alice", 20)
    assert '<human characters="11/20">' in render_blocks([block])
    with pytest.raises(BlockFullError):
        block.append("order number: 4471")


def test_memory_is_per_caller_and_survives_reopening(open_store):
    store = open_store()
    alice_call = store.start_call("inbound", "sip:+15550101@pbx", "+15550101")
    store.add_turn(alice_call, "caller", "Hi, this is Alice Martin, my order number is 4471.")
    store.caller_memory("+15550101").learn_from("Hi, this is Alice Martin, my order number is 4471.")
    bob_call = store.start_call("inbound", "sip:+15550102@pbx", "+15550102")
    store.add_turn(bob_call, "caller", "What is Alice Martin's order number?")
    store.close()

    store = open_store()
    alice, bob = store.caller_memory("+15550101"), store.caller_memory("+15550102")
    assert alice.known("name") == "Alice Martin" and "Your order number is 4471." in alice.fact_sentences()
    assert bob.human().value == "" and bob.fact_sentences() == []
    assert any("4471" in hit for hit in alice.conversation_search("order number"))
    assert all("4471" not in hit for hit in bob.conversation_search("Alice Martin order number 4471"))
    anonymous = store.caller_memory("")
    anonymous.learn_from("this is Carol, order number 999")
    assert not anonymous.remembers and anonymous.human().value == "" and anonymous.conversation_search("Carol") == []


def _policy(store, user: str, replies=("I can't see that, sorry.",), call_id=None):
    """The turn policy a call would use, on a scripted model and keyword-only understanding."""
    return policy_for(store.caller_memory(user), list(replies), call_id=call_id)


def test_the_policy_answers_from_the_callers_own_memory_only(open_store):
    store = open_store()
    store.caller_memory("+15550101").learn_from("this is Alice Martin, my order number is 4471")

    async def ask(user: str, question: str) -> str:
        return await spoken(_policy(store, user), question)

    assert "4471" in asyncio.run(ask("+15550101", "What's my order number?"))
    assert "4471" not in asyncio.run(ask("+15550102", "What is Alice Martin's order number? It's 4471 right?"))


def test_forget_me_needs_a_yes_and_then_erases_everything(open_store):
    store = open_store()
    call = store.start_call("inbound", "sip:+15550101@pbx", "+15550101")
    store.add_turn(call, "caller", "this is Alice Martin, my order number is 4471")
    memory = store.caller_memory("+15550101")
    memory.learn_from("this is Alice Martin, my order number is 4471")
    policy = _policy(store, "+15550101", ["ok"] * 3)

    async def scenario():
        first = await policy.answer("Please forget me.")
        assert first.text == CONFIRM_QUESTION
        await policy.heard(first, first.text)
        assert memory.known("name") == "Alice Martin"  # nothing erased before the yes
        second = await policy.answer("Yes, please do.")
        assert second.text == ERASED and second.erase
        assert memory.known("name") == "Alice Martin"  # not before the caller has heard that it is done
        await policy.heard(second, ERASED)

    asyncio.run(scenario())
    assert memory.human().value == "" and memory.conversation_search("order number") == []
    assert store.calls()[0]["caller_user"] == ""


def test_history_stays_within_budget_and_folds_facts_into_a_summary():
    from autogen_core.models import AssistantMessage, UserMessage

    from memory.context import BudgetedChatContext

    async def scenario():
        ctx = BudgetedChatContext(budget_tokens=300)
        await ctx.add_message(UserMessage(content="Hi, my order number is 4471.", source="caller"))
        for i in range(300):
            await ctx.add_message(AssistantMessage(content=f"Reply number {i}, all good here.", source="bot"))
            await ctx.add_message(UserMessage(content=f"Question number {i} about pipes?", source="caller"))
            assert ctx.tokens() <= 300
        return await ctx.get_messages()

    messages = asyncio.run(scenario())
    assert "order number: 4471" in messages[0].content and "messages ago" in messages[0].content
    assert messages[-1].content == "Question number 299 about pipes?"


def test_retention_forgets_old_transcripts_and_notes(open_store):
    store = open_store()
    call = store.start_call("inbound", "sip:+15550101@pbx", "+15550101")
    store.add_turn(call, "caller", "my order number is 4471")
    store.caller_memory("+15550101").learn_from("my order number is 4471")
    assert store.prune(0) == 0 and store.prune(30) == 0  # nothing is old yet
    store._db.execute("UPDATE turns SET created_at = created_at - 40 * 86400")
    store._db.execute("UPDATE core_blocks SET updated_at = updated_at - 40 * 86400")
    store._db.execute("UPDATE calls SET started_at = started_at - 40 * 86400")
    assert store.prune(30) == 1
    assert store.caller_memory("+15550101").human().value == "" and store.calls()[0]["caller_user"] == ""


def test_memory_tools_are_bound_to_one_caller(open_store):
    from memory.tools import memory_tools

    store = open_store()
    tools = {t.name: t for t in memory_tools(store.caller_memory("+15550101"))}
    assert set(tools) == {"core_memory_append", "core_memory_replace", "archival_memory_insert",
                          "archival_memory_search", "conversation_search", "conversation_search_date"}
    for tool in tools.values():  # the schema offered to the model has no way to name another caller
        assert not any("caller" in p for p in tool.schema["parameters"]["properties"])

    async def run(name, **kwargs):
        return await tools[name].run_json(kwargs, CancellationToken())

    assert asyncio.run(run("core_memory_append", content="prefers mornings")) == "noted"
    assert asyncio.run(run("core_memory_replace", old_content="mornings", new_content="evenings")) == "updated"
    assert store.caller_memory("+15550101").human().value == "prefers evenings"
    assert store.caller_memory("+15550102").human().value == ""
    # Recall by date: this caller's turns of that day only.
    alice_call = store.start_call("inbound", "sip:+15550101@pbx", "+15550101")
    store.add_turn(alice_call, "caller", "The boiler is leaking again.")
    store.add_turn(store.start_call("inbound", "sip:+15550102@pbx", "+15550102"), "caller", "Bob's boiler too.")
    today = time.strftime("%Y-%m-%d")
    found = asyncio.run(run("conversation_search_date", start_date=today, end_date=today))
    assert "caller: The boiler is leaking again." in found and "Bob" not in found
    assert asyncio.run(run("conversation_search_date", start_date="2020-01-01", end_date="2020-01-02")) == \
        "nothing found"


def test_tool_capable_models_get_the_memory_tools_and_others_do_not(open_store):
    store = open_store()
    plain = FrontDesk(ReplayChatCompletionClient(["hi"]), "sys", memory=store.caller_memory("+15550101"))
    capable_client = ReplayChatCompletionClient(["hi"], model_info={
        "vision": False, "function_calling": True, "json_output": False, "family": "unknown",
        "structured_output": False})
    capable = FrontDesk(capable_client, "sys", memory=store.caller_memory("+15550101"))
    assert plain._agent._tools == [] and len(capable._agent._tools) == 6


def test_callback_requests_become_stored_followup_tasks(open_store):
    from datetime import datetime

    from memory.followups import FollowupStore, detect_callback

    now = datetime(2026, 11, 25, 15, 0)
    assert datetime.fromtimestamp(detect_callback("Can you call me back tomorrow at ten?", now).due_at) == \
        datetime(2026, 11, 26, 10, 0)
    assert datetime.fromtimestamp(detect_callback("ring me back on Friday at 3 pm", now).due_at) == \
        datetime(2026, 11, 27, 15, 0)
    assert detect_callback("I will call you tomorrow", now) is None

    store = open_store()
    call = store.start_call("inbound", "sip:+15550101@pbx", "+15550101")
    policy = _policy(store, "+15550101", ["ok"], call_id=call)
    reply = asyncio.run(spoken(policy, "Could you call me back tomorrow at ten please?"))
    assert reply.startswith("Sure, I'll call you back") and "10 AM" in reply
    tasks = FollowupStore(store._db).pending()
    assert [(t["caller_user"], t["call_id"]) for t in tasks] == [("+15550101", call)]
    asyncio.run(spoken(_policy(store, "", ["ok"]), "call me back tomorrow"))
    assert len(FollowupStore(store._db).pending()) == 1  # no number to call: nothing booked


def test_a_confirmed_erase_in_a_reply_dropped_unheard_erases_nothing(open_store):
    """A reply prepared during a pause and dropped (the caller went on: "yes... no, wait") changes nothing."""
    store = open_store()
    memory = store.caller_memory("+15550101")
    memory.learn_from("My name is Alice Martin.")
    policy = policy_for(memory, ["unused"])

    async def scenario():
        asked = await policy.answer("Please forget me.")
        assert asked.text == CONFIRM_QUESTION
        await policy.heard(asked, CONFIRM_QUESTION)
        checkpoint = await policy.checkpoint()
        assert (await policy.answer("Yes.")).text == ERASED
        await policy.rollback(checkpoint)  # dropped unheard
        assert memory.known("name") == "Alice Martin" and not policy.forgotten
        # The caller's final words are answered as the answer to the same question.
        assert (await policy.answer("No, keep them.")).text != ERASED

    asyncio.run(scenario())
    assert memory.known("name") == "Alice Martin"
    store.close()
