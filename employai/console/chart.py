"""Per-turn latency by stage, as bars for an inline SVG drawn server side (no script, no asset)."""

from __future__ import annotations

from dataclasses import dataclass

from employai.runtime.metrics import STAGES, stage_durations, turn_latency
from memory.transcripts import Turn

COLOURS = {"stt": "#4e79a7", "first_token": "#f28e2b", "first_audio": "#59a14f", "first_frame": "#b07aa1"}
WIDTH, ROW, LABEL = 640, 22, 70  # pixels: the chart, one turn's row, the label column


@dataclass(frozen=True)
class Segment:
    stage: str
    x: float
    width: float
    seconds: float
    colour: str


@dataclass(frozen=True)
class Bar:
    label: str  # "turn 2"
    y: int
    total_ms: int | None
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class Chart:
    bars: tuple[Bar, ...]
    width: int
    height: int
    scale_s: float  # seconds across the plot area
    legend: tuple[tuple[str, str], ...]


def latency_chart(turns: list[Turn]) -> Chart | None:
    """One bar per answered turn (bot turns timed from the caller's end of speech), stages stacked in order."""
    timed = [(i, t) for i, t in enumerate(turns, 1) if t.role == "bot" and t.timing.speech_end is not None]
    if not timed:
        return None
    rows = []
    for n, turn in timed:
        durations = stage_durations(turn.timing)
        rows.append((n, durations, turn_latency(turn.timing)))
    longest = max(max(sum(d.values()), total or 0.0) for _, d, total in rows) or 1.0
    plot = WIDTH - LABEL - 60
    bars = []
    for row, (n, durations, total) in enumerate(rows):
        x, segments = float(LABEL), []
        for stage, _, _ in STAGES:
            if stage in durations:
                width = durations[stage] / longest * plot
                segments.append(Segment(stage, round(x, 1), round(max(width, 0.5), 1), durations[stage],
                                        COLOURS[stage]))
                x += width
        bars.append(Bar(f"turn {n}", 20 + row * ROW, None if total is None else round(total * 1000),
                        tuple(segments)))
    return Chart(tuple(bars), WIDTH, 30 + len(bars) * ROW, longest,
                 tuple((stage, COLOURS[stage]) for stage, _, _ in STAGES))
