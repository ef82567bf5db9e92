"""The running bot's state in a small JSON file beside its database, for `employai status`.

Written atomically (temp file, then rename) by the `employai run` process whenever something an operator cares
about changes: registration, calls in progress.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from pathlib import Path

from telephony.account import RegistrationState


class StatusFile:
    def __init__(self, path: Path, uri: str, aor: str):
        self.path = path
        self._data = {"pid": os.getpid(), "started_at": time.time(), "uri": uri, "aor": aor, "calls": 0,
                      "registration": asdict(RegistrationState())}

    def update(self, registration: RegistrationState | None = None, calls: int | None = None,
               live: list[dict] | None = None) -> None:
        if registration is not None:
            self._data["registration"] = asdict(registration)
        if calls is not None:
            self._data["calls"] = calls
        if live is not None:
            self._data["live"] = live
        self._data["updated_at"] = time.time()
        if not self.path.parent.exists():  # the data directory: personal data, its owner's alone
            self.path.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._data, indent=1))
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def describe(self, **facts: str | int) -> None:
        """What this instance is (its capacity, CPU lanes, database), written with the next update."""
        self._data.update(facts)

    def stopped(self) -> None:
        self._data["stopped_at"] = time.time()
        self.update()


def read_status(path: Path) -> dict | None:
    """The last status written, with `running` telling whether its process is still alive."""
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    alive = "stopped_at" not in data
    if alive:
        try:
            os.kill(int(data["pid"]), 0)
        except (ProcessLookupError, PermissionError, KeyError, ValueError):
            alive = False
    data["running"] = alive
    return data
