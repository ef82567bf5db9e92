"""Progress of long work in the CLI (models loading, evaluations, benchmarks), with tqdm: a bar on stderr when it is
a terminal, nothing at all otherwise (tqdm's `disable=None`), so piped output and logs stay plain and the results
printed on stdout are unchanged. Bars vanish when done (`leave=False`)."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


def progress(items: Iterable[T], desc: str, total: int | None = None, unit: str = "item") -> tqdm:
    """`items`, with a bar while they are gone through."""
    return tqdm(items, desc=desc, total=total, unit=unit, disable=None, leave=False, file=sys.stderr)


def steps(total: int, desc: str) -> tqdm:
    """A bar advanced by hand (`update()`), e.g. a step per model loaded."""
    return tqdm(total=total, desc=desc, unit="step", disable=None, leave=False, file=sys.stderr)


def timer(seconds: float, desc: str) -> tqdm:
    """A bar of time, for work of a set length (a soak): `update()` it by the whole seconds gone."""
    return tqdm(total=max(1, round(seconds)), desc=desc, unit="s", disable=None, leave=False, file=sys.stderr)


def say(text: str) -> None:
    """A line of results on stdout while a bar may be showing (tqdm clears the bar and draws it again below)."""
    tqdm.write(text, file=sys.stdout)
    sys.stdout.flush()
