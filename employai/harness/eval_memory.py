"""`employai eval memory`: deep memory retrieval (in the style of the MemGPT paper's DMR task) and the cost
of memory on a turn.

DMR: for each of 30 items a caller states something in one conversation and asks about it in a later one
(a new front desk, as after hanging up); the reply must contain the answer. Cost: with 10,000 archival
passages and 100,000 recall messages in the database, the time the per-turn memory work adds (caller facts,
recall search, knowledge-base lookup), p50 and p95.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path

from autogen_core import CancellationToken
from autogen_core.models import ChatCompletionClient

from brain.model_clients import build_model_client
from employai.runtime.conversation import new_front_desk
from employai.runtime.progress import progress
from memory.embeddings import MiniLMEmbedder
from memory.transcripts import TranscriptStore
from sip_config import Config, resolve_models

# (what the caller says in the first call, the question in a later call, the answer the reply must contain)
DMR_ITEMS: list[tuple[str, str, str]] = [
    ("Hi, my order number is 4471.", "What's my order number?", "4471"),
    ("My account number is 88213.", "What is my account number?", "88213"),
    ("The booking number is 5520.", "Can you remind me of my booking number?", "5520"),
    ("My ticket number is 90817.", "What was my ticket number?", "90817"),
    ("My invoice number is 3302.", "Which invoice number did I give you?", "3302"),
    ("My reference number is 7741.", "What's my reference number?", "7741"),
    ("The case number is 61925.", "What is my case number?", "61925"),
    ("My customer number is 10442.", "Do you have my customer number?", "10442"),
    ("My policy number is 22871.", "What's my policy number?", "22871"),
    ("My membership number is 5150.", "What is my membership number?", "5150"),
    ("Hello, this is Alice Martin.", "What's my name?", "Alice Martin"),
    ("Hi, my name is Bob Chen.", "Do you remember my name?", "Bob Chen"),
    ("This is Carla Diaz speaking.", "Who am I?", "Carla Diaz"),
    ("Hi, I'm Dev Patel.", "What is my name?", "Dev Patel"),
    ("My name is Emma Stone.", "Can you tell me my name?", "Emma Stone"),
    ("You can reach me on 555 010 7788.", "What's my callback number?", "5550107788"),
    ("My number is 555 020 1234.", "Which number should you call me back on?", "5550201234"),
    ("My email is frank@example.com.", "What's my email address?", "frank@example.com"),
    ("Write to me at gina.lee@example.org.", "What email do you have for me?", "gina.lee@example.org"),
    ("Call me on 555 030 9911 please.", "What's my phone number?", "5550309911"),
    ("My boiler is a Worcester Bosch.", "What make is my boiler?", "Worcester"),
    ("I live on Elm Street.", "Which street do I live on?", "Elm"),
    ("My dog is called Rex.", "What is my dog called?", "Rex"),
    ("The leak is in the upstairs bathroom.", "Where is the leak?", "bathroom"),
    ("My water heater is twelve years old.", "How old is my water heater?", "twelve"),
    ("I prefer visits in the morning.", "When do I prefer visits?", "morning"),
    ("The gate code is 4590.", "What's the gate code?", "4590"),
    ("My landlord is called Mr Harris.", "What is my landlord's name?", "Harris"),
    ("The radiator in the kitchen is cold.", "Which radiator is cold?", "kitchen"),
    ("I paid with a Visa card.", "How did I pay?", "Visa"),
]


def _normalise(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum() or ch in "@.")


async def _dmr(config: Config, store: TranscriptStore, client: ChatCompletionClient) -> tuple[int, list[str]]:
    correct, misses = 0, []
    for i, (statement, question, answer) in enumerate(progress(DMR_ITEMS, "deep memory retrieval", unit="question")):
        caller = f"+1555990{i:04d}"
        memory = store.caller_memory(caller)
        first = store.start_call("chat", caller, caller)
        store.add_turn(first, "caller", statement)
        memory.learn_from(statement)
        store.end_call(first, "eval")
        second = store.start_call("chat", caller, caller)
        desk = new_front_desk(config, client, memory, second)
        store.add_turn(second, "caller", question)
        reply = "".join([p async for p in desk.reply(question, CancellationToken())])
        store.end_call(second, "eval")
        if _normalise(answer) in _normalise(reply.replace(" ", "")) or _normalise(answer) in _normalise(reply):
            correct += 1
        else:
            misses.append(f"{question} -> {reply.strip()[:100]}")
    return correct, misses


def _fill(store: TranscriptStore, passages: int, messages: int, callers: int) -> None:
    rng = random.Random(7)
    words = ("boiler leak drain pipe radiator invoice visit price tap valve pump heater tank shower toilet "
             "kitchen bathroom garden meter pressure thermostat engineer booking weekend emergency").split()
    texts = [" ".join(rng.choice(words) for _ in range(14)).capitalize() + "." for _ in range(passages)]
    archive = store.archive
    if archive is None:
        raise ValueError("the memory eval needs a store with an embedder (its knowledge base)")
    for start in progress(range(0, passages, 256), "filling the archive", unit="batch"):
        archive.insert(texts[start : start + 256], scope="org", source="bench")
    db = store._db
    db.execute("BEGIN")
    for c in range(callers):
        db.execute("INSERT INTO calls (direction, remote_uri, caller_user, started_at) VALUES ('inbound', '', ?, ?)",
                   (f"+1555{c:06d}", time.time()))
    db.executemany("INSERT INTO turns (call_id, role, text, created_at) VALUES (?, ?, ?, ?)",
                   [(rng.randrange(1, callers + 1), "caller",
                     " ".join(rng.choice(words) for _ in range(10)), time.time()) for _ in range(messages)])
    db.execute("COMMIT")


def _cost(store: TranscriptStore, queries: list[str]) -> list[float]:
    memory = store.caller_memory("+1555000042")
    memory.learn_from("this is Alice Martin, my order number is 4471")
    timings = []
    for q in progress(queries, "memory work per turn", unit="turn"):
        started = time.perf_counter()
        memory.fact_sentences()
        memory.conversation_search(q)
        memory.knowledge_sentences(q)  # what the bot reads for a question (the choice among them is brain work)
        timings.append(time.perf_counter() - started)
    return timings


def run_eval_memory(config: Config) -> int:
    models = resolve_models(config)
    embedder = MiniLMEmbedder(models.embedding_zip).load()
    client = build_model_client(config.llm, models)
    with tempfile.TemporaryDirectory() as folder:
        store = TranscriptStore(Path(folder) / "dmr.sqlite3", embedder=embedder)
        correct, misses = asyncio.run(_dmr(config, store, client))
        store.close()
        print(f"Deep memory retrieval, {len(DMR_ITEMS)} questions about earlier calls, model "
              f"{models.gguf.name if models.gguf is not None else config.llm.model}: "
              f"accuracy {correct / len(DMR_ITEMS):.0%} ({correct}/{len(DMR_ITEMS)})")
        for miss in misses:
            print(f"  missed: {miss}")
        store = TranscriptStore(Path(folder) / "cost.sqlite3", embedder=embedder)
        started = time.monotonic()
        _fill(store, passages=10_000, messages=100_000, callers=1000)
        print(f"Filled 10,000 archival passages and 100,000 recall messages in {time.monotonic() - started:.0f} s")
        # Every query distinct, so none is answered from the query-embedding cache (a real turn rarely is).
        queries = [f"{q} I am calling about it {ordinal}."
                   for ordinal in ("again", "today", "now", "once more", "still") for _, q, _ in DMR_ITEMS]
        _cost(store, ["Warm up the search.", "And the embedder."])
        timings = sorted(_cost(store, queries))
        p50 = statistics.median(timings) * 1000
        p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))] * 1000
        print(f"Memory work per turn (facts + recall search + knowledge lookup): p50 {p50:.1f} ms, "
              f"p95 {p95:.1f} ms (n={len(timings)})")
        store.close()
    return 0
