"""The front-desk agent: an AutoGen AgentChat `AssistantAgent` that answers the caller, one streamed reply a turn.

One `FrontDesk` per call (cheap); the model client is shared by all calls. The conversation lives in the
agent's model context, which this class edits when the caller barges in, so the history holds what the caller
actually heard rather than what the model wrote.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.messages import ModelClientStreamingChunkEvent, TextMessage
from autogen_core import CancellationToken
from autogen_core.models import ChatCompletionClient, UserMessage
from autogen_core.tools import FunctionTool

from memory.caller_memory import CallerMemory
from memory.context import BudgetedChatContext
from memory.tools import memory_tools

from .forget_me import ForgetMe
from .knowledge import best_fact


def calls_tools(model_client: ChatCompletionClient) -> bool:
    return bool(model_client.model_info.get("function_calling"))


class FrontDesk:
    def __init__(self, model_client: ChatCompletionClient, system_prompt: str, facts: Sequence[str] = (),
                 memory: CallerMemory | None = None, call_id: int | None = None, continue_after_fact: bool = False,
                 history_tokens: int = 900, tools: Sequence[FunctionTool] = ()):
        self._facts = tuple(facts)
        self._memory = memory
        self._call_id = call_id
        self._forget_me = ForgetMe()
        self.forgotten = False  # the caller had us erase their memory on this call: remember nothing more
        self._erase_when_heard: CallerMemory | None = None  # "forget me" confirmed: erased once the reply is heard
        self._continue_after_fact = continue_after_fact
        self._context = BudgetedChatContext(history_tokens)
        # Tools (the memory functions, the transfer) go only to models that can call tools; the rest remember and
        # transfer without them, and none are built for them.
        if calls_tools(model_client):
            tools = [*(memory_tools(memory) if memory is not None and memory.remembers else []), *tools]
        else:
            tools = []
        self._agent = AssistantAgent(
            name="front_desk",
            model_client=model_client,
            system_message=system_prompt,
            model_client_stream=True,
            model_context=self._context,
            tools=tools or None,
            reflect_on_tool_use=bool(tools),
        )

    async def reply(self, caller_text: str, cancel: CancellationToken) -> AsyncIterator[str]:
        """Stream the reply to what the caller said, piece by piece; a matching fact comes first."""
        memory = self._memory if self._memory is not None and self._memory.remembers else None
        knowledge = self._memory  # the knowledge base answers anonymous callers too
        if memory is not None:
            fixed, erase = self._forget_me.answer(caller_text)
            if fixed is None:
                fixed = memory.book_callback(caller_text, self._call_id)  # the task agent's job, done in code
            if fixed is not None:
                if erase:  # not yet: this reply may be one prepared during a pause, and dropped unheard
                    self._erase_when_heard = memory
                await self._context.add_message(UserMessage(content=caller_text, source="caller"))
                yield fixed
                return
        # What the caller told us before (exact keywords), then the knowledge base (meaning and keywords; it holds
        # the profile's facts too), else the profile's facts by keyword when there is no knowledge base.
        fact = best_fact(caller_text, memory.fact_sentences()) if memory else None
        if fact is None and knowledge is not None and knowledge.has_knowledge:
            fact = await asyncio.to_thread(knowledge.knowledge_lead, caller_text)
        elif fact is None and self._facts:
            fact = best_fact(caller_text, self._facts)
        content = caller_text
        if fact:
            yield fact + " "
            if not self._continue_after_fact:
                await self._context.add_message(UserMessage(content=caller_text, source="caller"))
                return
            content += f"\n(You have just told the caller: {fact})"
        earlier = memory.conversation_search(caller_text, limit=2, exclude_call=self._call_id, caller_only=True) \
            if memory is not None else []
        if earlier:  # what the caller said before, short: every token here costs time before the first word
            content += "\n(The caller said in an earlier call: " + " | ".join(e[:160] for e in earlier) + ")"
        message = TextMessage(content=content, source="caller")
        async for event in self._agent.on_messages_stream([message], cancel):
            if isinstance(event, ModelClientStreamingChunkEvent) and event.content:
                yield event.content

    async def note_caller(self, caller_text: str) -> None:
        """Keep in the history what the caller said when the reply came from elsewhere (a transfer, a message)."""
        await self._context.add_message(UserMessage(content=caller_text, source="caller"))

    async def note_spoken(self, spoken: str) -> None:
        """Make the last reply in the history what the caller heard: the whole reply, or up to a barge-in; an
        erase the caller confirmed happens now, once its reply is heard."""
        self._context.replace_last_reply(spoken, "front_desk")
        memory, self._erase_when_heard = self._erase_when_heard, None
        if memory is not None:
            await asyncio.to_thread(memory.forget)
            self.forgotten, self._memory = True, None

    async def checkpoint(self) -> dict:
        """The history as it is now, to roll back to if a reply is abandoned before the caller hears it."""
        return {"context": self._context.snapshot(), "forget_pending": self._forget_me.pending}

    async def rollback(self, checkpoint: dict) -> None:
        """A reply dropped unheard changes nothing: the history, a pending "forget me" question, an erase."""
        self._context.restore(checkpoint["context"])
        self._forget_me.pending = checkpoint["forget_pending"]
        self._erase_when_heard = None
