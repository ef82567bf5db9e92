"""Storage: call records and transcripts, the tiered caller memory built on them, and caller PINs."""

from .caller_memory import CallerMemory
from .pins import PinStore
from .transcripts import TranscriptStore, Turn, TurnTiming

__all__ = ["CallerMemory", "PinStore", "TranscriptStore", "Turn", "TurnTiming"]
