"""`employai chat`: the same front desk and memory as on the phone, by typing. One line in, one reply out.

`--caller NUMBER` acts as that caller (memory across sessions, as across calls); without it the chat is
anonymous and remembers nothing. Turns are stored like a call's, with direction 'chat'.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

from autogen_core import CancellationToken

from brain.model_clients import build_model_client
from brain.switchboard import Directory, TransferRequest
from employai.runtime.app import data_dir, sip_domain
from employai.runtime.conversation import greeting, new_front_desk, review_call, sync_profile_facts
from memory.embeddings import MiniLMEmbedder
from memory.transcripts import TranscriptStore
from sip_config import Config, resolve_models
from speech.sentences import SentenceChunker
from telephony.headers import normalise_user


async def run_chat(config: Config, caller: str = "") -> int:
    client = await asyncio.to_thread(build_model_client, config.llm, resolve_models(config))
    models = resolve_models(config)
    embedder = await asyncio.to_thread(lambda: MiniLMEmbedder(models.embedding_zip).load())
    store = TranscriptStore(data_dir(config) / "employai.sqlite3", embedder=embedder)
    store.prune(config.memory.retention_days)
    sync_profile_facts(config, store)
    user = normalise_user(caller) if caller else ""
    call_id = store.start_call("chat", caller, user, claimed_user=user, verified=True)
    memory = store.caller_memory(user)
    directory = Directory(config.transfer, sip_domain(config))
    transfer = TransferRequest(directory)  # a model that calls tools may ask for a transfer with it
    desk = new_front_desk(config, client, memory, call_id, transfer=transfer)
    hello = greeting(config, memory)
    print(hello, flush=True)
    store.add_turn(call_id, "bot", hello)
    await desk.note_spoken(hello)
    try:
        while line := await asyncio.to_thread(sys.stdin.readline):
            if not line.strip():
                continue
            said = line.strip()
            store.add_turn(call_id, "caller", said)
            memory.learn_from(said)
            decision = directory.decide(said)
            if decision is not None:  # on the phone this transfers; a chat can only say so
                await desk.note_caller(said)
                reply = decision.say
            else:
                transfer.take()
                reply = await _reply(desk, said, config.llm.max_reply_sentences)
                if (entry := transfer.take()) is not None and not reply:
                    reply = config.transfer.announce_text.format(name=entry.name)
            print(reply, flush=True)
            store.add_turn(call_id, "bot", reply)
            await desk.note_spoken(reply)
            if desk.forgotten:  # erased at the caller's request: nothing more is remembered of them
                memory = store.caller_memory("")
    finally:
        store.end_call(call_id, "chat_closed")
        try:
            await review_call(config, client, store, call_id, memory)
        finally:
            store.close()
    return 0


async def _reply(desk, said: str, max_sentences: int) -> str:
    """The reply as the phone would say it: the same sentence cut and limit."""
    chunker, sentences = SentenceChunker(), []
    async with contextlib.aclosing(desk.reply(said, CancellationToken())) as pieces:  # stops the model at once
        async for piece in pieces:
            sentences += chunker.push(piece)
            if len(sentences) >= max_sentences:
                break
        else:
            sentences += chunker.flush()
    return " ".join(sentences[:max_sentences])
