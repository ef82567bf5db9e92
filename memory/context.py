"""Virtual context management (MemGPT): the conversation the model sees is kept within a token budget.

When the history would pass the budget, the oldest messages leave the model's context (they are already in
recall memory: every turn is stored as it happens) and are folded into a running summary that stays at the
head of the history. The fold is deterministic: the caller's facts (extractor) and a count of what was
folded, so it works with the smallest model; the prompt can never overflow, however long the call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from autogen_core.model_context import ChatCompletionContext
from autogen_core.models import AssistantMessage, LLMMessage, UserMessage

from .extractor import extract_facts, merge_facts


def estimate_tokens(message: LLMMessage) -> int:
    """A safe over-estimate (about 3 characters a token, plus the chat template's framing)."""
    content = message.content if isinstance(message.content, str) else str(message.content)
    return len(content) // 3 + 6


class BudgetedChatContext(ChatCompletionContext):
    def __init__(self, budget_tokens: int, summary_chars: int = 600):
        super().__init__()
        self._budget = budget_tokens
        self._summary_chars = summary_chars
        self._facts = ""
        self._folded = 0

    @property
    def summary(self) -> str:
        if not self._folded:
            return ""
        text = f"(Earlier in this conversation, {self._folded} messages ago and before"
        text += f", the caller told you: {'; '.join(self._facts.splitlines())})" if self._facts else ".)"
        return text[: self._summary_chars]

    async def add_message(self, message: LLMMessage) -> None:
        self._messages.append(message)
        self._fold_to_budget()

    async def get_messages(self) -> list[LLMMessage]:
        if not self._folded:
            return list(self._messages)
        return [UserMessage(content=self.summary, source="memory"), *self._messages]

    def tokens(self) -> int:
        head = [UserMessage(content=self.summary, source="memory")] if self._folded else []
        return sum(estimate_tokens(m) for m in [*head, *self._messages])

    def _fold_to_budget(self) -> None:
        while len(self._messages) > 2 and self.tokens() > self._budget:
            oldest = self._messages.pop(0)
            self._folded += 1
            if isinstance(oldest, UserMessage) and isinstance(oldest.content, str):
                self._facts = merge_facts(self._facts, extract_facts(oldest.content))
                while len(self._facts) > self._summary_chars // 2 and "\n" in self._facts:
                    self._facts = self._facts.split("\n", 1)[1]  # the oldest facts go first

    # The front desk edits the newest reply (what the caller heard) and rolls back abandoned replies.
    def snapshot(self) -> dict[str, Any]:
        return {"messages": list(self._messages), "facts": self._facts, "folded": self._folded}

    def restore(self, snapshot: dict[str, Any]) -> None:
        self._messages = list(snapshot["messages"])
        self._facts, self._folded = snapshot["facts"], snapshot["folded"]

    def replace_last_reply(self, spoken: str, source: str) -> None:
        if self._messages and isinstance(self._messages[-1], AssistantMessage):
            self._messages.pop()
        if spoken:
            self._messages.append(AssistantMessage(content=spoken, source=source))
        self._fold_to_budget()

    async def clear(self) -> None:
        self._messages = []
        self._facts, self._folded = "", 0

    async def save_state(self) -> dict[str, Any]:
        return {"messages": [m.model_dump() for m in self._messages], "facts": self._facts, "folded": self._folded}

    async def load_state(self, state: Mapping[str, Any]) -> None:  # pragma: no cover - not used by the bot
        raise NotImplementedError("the bot keeps history per call; recall memory holds it across calls")
