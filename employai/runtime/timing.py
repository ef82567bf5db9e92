"""Per-turn timing: monotonic stage times to wall-clock rows, and the one log line per turn."""

from __future__ import annotations

import logging
import time

from employai.runtime.speaker import SpokenTurn
from memory.transcripts import TurnTiming

log = logging.getLogger("employai.turns")


def wall_clock(monotonic_time: float | None) -> float | None:
    if monotonic_time is None:
        return None
    return time.time() - (time.monotonic() - monotonic_time)


def caller_timing(speech_end: float, transcript_ready: float) -> TurnTiming:
    return TurnTiming(speech_end=wall_clock(speech_end), transcript_ready=wall_clock(transcript_ready))


def bot_turn_timing(turn: SpokenTurn, caller_turn: tuple[object, float] | None) -> TurnTiming:
    """Every stage time of the exchange a bot turn answers, as wall-clock times for its record."""
    return TurnTiming(
        speech_end=wall_clock(caller_turn[1]) if caller_turn else None,
        transcript_ready=wall_clock(turn.transcript_ready),
        first_token=wall_clock(turn.first_token),
        first_audio=wall_clock(turn.first_audio),
        first_frame=wall_clock(turn.first_frame),
    )


def _ms(later: float | None, earlier: float | None) -> int | None:
    return None if later is None or earlier is None else round((later - earlier) * 1000)


def log_turn(t: TurnTiming, interrupted: bool) -> None:
    """One line per turn: each stage in ms from the end of the caller's speech (a greeting has none of them)."""
    stages = {"stt_ms": t.transcript_ready, "llm_first_token_ms": t.first_token, "tts_first_audio_ms": t.first_audio,
              "first_frame_ms": t.first_frame}
    stages = {k: _ms(v, t.speech_end) for k, v in stages.items()}
    log.info("turn", extra={k: v for k, v in stages.items() if v is not None} | {"interrupted": interrupted})
