"""`employai chat`: the same front desk and memory as on the phone, by typing. One line in, one reply out.

`--caller NUMBER` acts as that caller (memory across sessions, as across calls); without it the chat is
anonymous and remembers nothing. Turns are stored like a call's, with direction 'chat'.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable
from typing import Any

from brain.model_clients import build_model_client
from brain.switchboard import Directory, TransferRequest
from employai.runtime.answers import Answer
from employai.runtime.app import sip_domain
from employai.runtime.conversation import greeting, new_turn_policy, review_call, sync_profile_facts
from employai.runtime.storage import open_store
from employai.runtime.understanding import Understanding
from memory.embeddings import MiniLMEmbedder
from sip_config import Config, resolve_models
from speech.sentences import SentenceChunker
from telephony.headers import normalise_user


async def run_chat(config: Config, caller: str = "") -> int:
    models = resolve_models(config)
    client = await asyncio.to_thread(build_model_client, config.llm, models)
    embedder = await asyncio.to_thread(lambda: MiniLMEmbedder(models.embedding_zip).load())
    understanding = Understanding(config, embedder)
    store = open_store(config, embedder=embedder)
    store.prune(config.memory.retention_days)
    sync_profile_facts(config, store)
    user = normalise_user(caller) if caller else ""
    call_id = store.start_call("chat", caller, user, claimed_user=user, verified=True)
    directory = Directory(config.transfer, sip_domain(config))
    transfer = TransferRequest(directory)  # a model that calls tools may ask for a transfer with it
    policy = new_turn_policy(config, client, understanding, store.caller_memory(user), call_id, directory,
                             _now, transfer=transfer)
    hello = greeting(config, policy.memory)
    print(hello, flush=True)
    store.add_turn(call_id, "bot", hello)
    await policy.desk.note_spoken(hello)
    try:
        while line := await asyncio.to_thread(sys.stdin.readline):
            if not (said := line.strip()):
                continue
            store.add_turn(call_id, "caller", said)
            policy.memory.learn_from(said, numbers=False)  # numbers are remembered once read back and confirmed
            transfer.take()
            answer = await policy.answer(said)
            reply = await _spoken(answer, config.llm.max_reply_sentences if answer.stream is not None else 1_000)
            entry = answer.transfer_to or transfer.take()
            if entry is not None and not reply:  # on the phone this transfers; a chat can only say so
                reply = config.transfer.announce_text.format(name=entry.name)
            print(reply, flush=True)
            store.add_turn(call_id, "bot", reply)
            await policy.heard(answer, reply)
            if answer.erase:  # erased at the caller's request: nothing more is remembered of them
                policy.rebind(store.caller_memory(""), policy.desk)
            if answer.hang_up:
                break
    finally:
        store.end_call(call_id, "chat_closed")
        try:
            await review_call(config, client, store, call_id, policy.memory)
            await understanding.close()
        finally:
            store.close()
    return 0


def _now(fn: Callable[..., Any], *args: Any) -> Any:
    """Memory writes in a chat happen at once, on this thread."""
    return fn(*args)


async def _spoken(answer: Answer, max_sentences: int) -> str:
    """The reply as the phone would say it: the same sentence cut and limit."""
    chunker, sentences = SentenceChunker(), []
    async with contextlib.aclosing(answer.pieces()) as pieces:  # stops the model at once
        async for piece in pieces:
            sentences += chunker.push(piece)
            if len(sentences) >= max_sentences:
                break
        else:
            sentences += chunker.flush()
    return " ".join(sentences[:max_sentences])
