"""How many calls the bot serves at once at its target latency, and who is turned away beyond that.

The number comes from `[capacity] calls` when set; else from what `employai bench --calls` measured on this
machine kind (`<data dir>/capacity.json`, used only when its CPU model is this machine's); else `sip.max_calls`,
as before admission existed. Keep `sip.max_calls_per_source` below it: one stranger must not fill every line.
A call beyond it is not served slowly with everyone else's: per `capacity.when_full` it hears "all our lines are
busy" and a goodbye, or is refused before it is answered (486 Busy Here, or 503 with Retry-After). Calls placed by
the bot (scheduled calls) count too. `Admission` is thread-safe: the SIP thread admits, the event loop releases.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

from sip_config import Config

from .cpu import cpu_model, machine_cores

log = logging.getLogger(__name__)


def measured_calls(data_dir: Path) -> int:
    """Calls at once this machine kind served at target latency, as `employai bench --calls` wrote (0: none)."""
    try:
        measured = json.loads((data_dir / "capacity.json").read_text())
    except (OSError, ValueError):
        return 0
    if not isinstance(measured, dict) or (measured.get("cpu"), measured.get("cores")) != (cpu_model(),
                                                                                          machine_cores()):
        return 0  # measured on another machine kind
    calls = measured.get("calls")
    return calls if isinstance(calls, int) and calls > 0 else 0


def serving_capacity(config: Config, data_dir: Path) -> tuple[int, str]:
    """Calls served at once, and where the number comes from."""
    if config.capacity.calls:
        return config.capacity.calls, "capacity.calls"
    if measured := measured_calls(data_dir):
        return measured, "measured by employai bench --calls"
    return config.sip.max_calls, "sip.max_calls (not measured: run employai bench --calls)"


class Admission:
    def __init__(self, capacity: int, when_full: str):
        self.capacity, self.when_full = capacity, when_full
        self._serving = 0
        self._lock = threading.Lock()

    @property
    def serving(self) -> int:
        with self._lock:
            return self._serving

    def admit(self) -> bool:
        """A call may be served (then `release` it when it ends); False: the lines are full."""
        with self._lock:
            if self._serving >= self.capacity:
                return False
            self._serving += 1
            return True

    def release(self) -> None:
        with self._lock:
            self._serving = max(0, self._serving - 1)

    def refusal(self) -> int | None:
        """The SIP status for a call beyond capacity, or None when it is answered and told the lines are busy."""
        return None if self.when_full == "announce" else int(self.when_full)
