"""Core memory: labelled blocks of text with a character limit, rendered into the prompt with their fill level
(MemGPT's main context). Pure data and rendering."""

from __future__ import annotations

from dataclasses import dataclass, replace


class BlockFullError(ValueError):
    """A write would pass the block's character limit."""


@dataclass(frozen=True)
class Block:
    label: str
    value: str
    limit: int

    def with_value(self, value: str) -> Block:
        if len(value) > self.limit:
            raise BlockFullError(f"block '{self.label}' holds at most {self.limit} characters")
        return replace(self, value=value)

    def append(self, text: str) -> Block:
        return self.with_value(f"{self.value}\n{text}".strip())

    def render(self) -> str:
        return f'<{self.label} characters="{len(self.value)}/{self.limit}">\n{self.value}\n</{self.label}>'


def render_blocks(blocks: list[Block]) -> str:
    return "\n".join(block.render() for block in blocks if block.value.strip())
