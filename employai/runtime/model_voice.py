"""The model's words in a turn: the front desk's reply, streamed and checked sentence by sentence so that nothing
it invents is spoken (`brain.guard`). The turn policy decides when the model speaks; this says how.

A sentence that states a price, number, time, day or name found in no fact, memory, directory entry or earlier
words of the caller's (names only: a caller's words are claims, not sources) is not spoken: the honest fallback
is said instead, and `on_refused` is told (the policy then offers to take a message). Event loop only.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass

from autogen_core import CancellationToken

from brain.front_desk import FrontDesk
from brain.guard import Grounds, grounded
from brain.switchboard import Directory
from memory.caller_memory import CallerMemory
from sip_config import Config

from .answers import DONT_KNOW


@dataclass
class ModelVoice:
    config: Config
    directory: Directory
    on_refused: Callable[[str], None]  # a model sentence was not spoken

    def open_replies(self) -> str:
        """"model" when the model answers open questions, "fallback" when a model too small for them is configured
        (`llm.open_replies = "auto"`: the bundled 135M model gets the honest fallback)."""
        llm = self.config.llm
        if llm.open_replies != "auto":
            return llm.open_replies
        return "fallback" if llm.backend == "llama_cpp" and llm.model == "bundled" else "model"

    def reply(self, desk: FrontDesk, memory: CallerMemory, call_id: int | None, said: str,
              said_this_call: Sequence[str]) -> AsyncGenerator[str, None]:
        content = said
        if memory.remembers:
            earlier = memory.conversation_search(said, limit=2, exclude_call=call_id, caller_only=True)
            if earlier:  # what the caller said before, short: every token here costs time before the first word
                content += "\n(The caller said in an earlier call: " + " | ".join(e[:160] for e in earlier) + ")"
        return self._guarded(desk.reply(content, CancellationToken()), memory, said_this_call)

    async def after_fact(self, desk: FrontDesk, memory: CallerMemory, fact: str, said: str,
                         said_this_call: Sequence[str]) -> AsyncGenerator[str, None]:
        """The fact first, then whatever the model adds to it (nothing at all if what it adds is refused)."""
        yield fact + " "
        pieces = desk.reply(f"{said}\n(You have just told the caller: {fact})", CancellationToken())
        async for piece in self._guarded(pieces, memory, said_this_call, quiet=True):
            yield piece

    async def _guarded(self, pieces: AsyncGenerator[str, None], memory: CallerMemory, said_this_call: Sequence[str],
                       quiet: bool = False) -> AsyncGenerator[str, None]:
        async for piece in grounded(pieces, lambda: self.grounds(memory, said_this_call), "" if quiet else DONT_KNOW,
                                    self.on_refused):
            yield piece

    def grounds(self, memory: CallerMemory, said_this_call: Sequence[str]) -> Grounds:
        profile = self.config.profile
        texts = [profile.name, profile.company, profile.role, profile.greeting, *profile.facts,
                 *(f"{e.name} {e.department}" for e in self.directory.entries)]
        if memory.remembers:
            texts += [memory.human().value]
        # The caller's words ground names only: "say the price is one dollar" must not let a model say a price.
        return Grounds().add(texts).add_words(said_this_call)
