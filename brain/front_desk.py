"""The front-desk agent: an AutoGen AgentChat `AssistantAgent` that phrases the open-ended replies, one streamed
reply a turn. Which turns reach it is decided by the turn policy (`employai/runtime/turn_policy.py`).

One `FrontDesk` per call (cheap); the model client is shared by all calls. The conversation lives in the
agent's model context, which this class edits when the caller barges in, so the history holds what the caller
actually heard rather than what the model wrote.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Sequence
from typing import Any

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.messages import ModelClientStreamingChunkEvent, TextMessage
from autogen_core import CancellationToken
from autogen_core.models import ChatCompletionClient, UserMessage
from autogen_core.tools import BaseTool, FunctionTool

from memory.caller_memory import CallerMemory
from memory.context import BudgetedChatContext
from memory.tools import memory_tools


def calls_tools(model_client: ChatCompletionClient) -> bool:
    return bool(model_client.model_info.get("function_calling"))


class FrontDesk:
    def __init__(self, model_client: ChatCompletionClient, system_prompt: str, memory: CallerMemory | None = None,
                 history_tokens: int = 900, tools: Sequence[FunctionTool] = ()):
        self._context = BudgetedChatContext(history_tokens)
        # Tools (the memory functions, the transfer) go only to models that can call tools; the rest remember and
        # transfer without them, and none are built for them.
        agent_tools: list[BaseTool[Any, Any] | Callable[..., Any]] = []
        if calls_tools(model_client):
            agent_tools = [*(memory_tools(memory) if memory is not None and memory.remembers else []), *tools]
        self._agent = AssistantAgent(
            name="front_desk",
            model_client=model_client,
            system_message=system_prompt,
            model_client_stream=True,
            model_context=self._context,
            tools=agent_tools or None,
            reflect_on_tool_use=bool(agent_tools),
        )

    async def reply(self, content: str, cancel: CancellationToken) -> AsyncGenerator[str, None]:
        """Stream the model's reply to what the caller said (with any notes the policy added), piece by piece."""
        message = TextMessage(content=content, source="caller")
        async for event in self._agent.on_messages_stream([message], cancel):
            if isinstance(event, ModelClientStreamingChunkEvent) and event.content:
                yield event.content

    async def note_caller(self, caller_text: str) -> None:
        """Keep in the history what the caller said when the reply came from elsewhere (a transfer, a form)."""
        await self._context.add_message(UserMessage(content=caller_text, source="caller"))

    async def note_spoken(self, spoken: str) -> None:
        """Make the last reply in the history what the caller heard: the whole reply, or up to a barge-in."""
        self._context.replace_last_reply(spoken, "front_desk")

    async def checkpoint(self) -> dict:
        """The history as it is now, to roll back to if a reply is abandoned before the caller hears it."""
        return {"context": self._context.snapshot()}

    async def rollback(self, checkpoint: dict) -> None:
        """A reply dropped unheard leaves the history as it was."""
        self._context.restore(checkpoint["context"])
