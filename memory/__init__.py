"""Storage: call records and transcripts today; the tiered caller memory builds on them."""

from .transcripts import TranscriptStore, Turn, TurnTiming

__all__ = ["TranscriptStore", "Turn", "TurnTiming"]
