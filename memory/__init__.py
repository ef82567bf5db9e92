"""Storage: call records and transcripts today; the tiered caller memory builds on them."""

from .caller_memory import CallerMemory
from .transcripts import TranscriptStore, Turn, TurnTiming

__all__ = ["CallerMemory", "TranscriptStore", "Turn", "TurnTiming"]
