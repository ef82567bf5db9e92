"""Start `employai run` as a child process on free loopback ports (for the benchmark and the tests)."""

from __future__ import annotations

import signal
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT_S = 180  # a loaded 2-core machine has taken over 90 s


def free_port() -> int:
    """A loopback port free for both UDP and TCP."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            with socket.socket() as t:
                try:
                    t.bind(("127.0.0.1", port))
                    return port
                except OSError:
                    continue
    raise RuntimeError("no free port")


@dataclass
class BotProcess:
    proc: subprocess.Popen
    uri: str
    port: int
    db_path: Path
    log_path: Path
    console_url: str = ""  # the web console and /metrics ("" when the config turned it off)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def db(self) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.db_path))
        db.row_factory = sqlite3.Row
        return db

    def calls(self) -> list[sqlite3.Row]:
        with self.db() as db:
            return db.execute("SELECT * FROM calls ORDER BY id").fetchall()

    def turns(self, call_id: int) -> list[sqlite3.Row]:
        with self.db() as db:
            return db.execute("SELECT * FROM turns WHERE call_id = ? ORDER BY id", (call_id,)).fetchall()

    def cli(self, *args: str, timeout: float = 60, input: str | None = None) -> subprocess.CompletedProcess:
        """Run `employai ARGS` with this bot's config (as an operator would, whether the bot runs or not)."""
        return subprocess.run([sys.executable, "-m", "employai", "-c", str(self.log_path.parent / "bot.toml"), *args],
                              capture_output=True, text=True, timeout=timeout, input=input)

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM, as an operator would; a bot that does not exit in time is killed and reported."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                raise RuntimeError("the bot did not exit after SIGTERM") from None
        return self.proc.returncode


def start_bot(workdir: Path, extra_toml: str = "", sip_toml: str = "", port: int = 0,
              data_url: str = "") -> BotProcess:
    """`sip_toml`: more keys of the [sip] table (the launcher writes that table's ports itself); `port`: the SIP
    port (a free one by default; a bot restarted behind a proxy keeps its own); `data_url`: the database's
    `data.url` (SQLite in the work directory by default)."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    if "[console]" not in extra_toml:  # a console of its own: bots side by side never fight over port 8080
        extra_toml += f'\n[console]\nlisten = "127.0.0.1:{free_port()}"\n'
    rtp = 20000 + (port % 50) * 400  # below 40000: clear of the test caller's RTP ports (employai dial: 42000)
    data = workdir / "data"
    config = workdir / "bot.toml"
    config.write_text(f'[sip]\nport = {port}\nrtp_port = {rtp}\nrtp_port_range = 200\n{sip_toml}\n'
                      f'[data]\ndir = "{data}"\nurl = "{data_url}"\n{extra_toml}\n')
    log_path = workdir / "bot.log"
    with open(log_path, "w") as log_file:
        proc = subprocess.Popen([sys.executable, "-m", "employai", "-c", str(config), "run"],
                                stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        started = log_path.read_text(errors="replace")
        if "is answering at" in started and ("Console " in started or "enabled = false" in extra_toml):
            console = started.split("Console at ", 1)[1].split()[0].rstrip("/") if "Console at " in started else ""
            return BotProcess(proc, f"sip:employai@127.0.0.1:{port}", port, data / "employai.sqlite3", log_path,
                              console)
        if proc.poll() is not None:
            raise RuntimeError(f"the bot exited at start:\n{log_path.read_text()}")
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"the bot did not start in time:\n{log_path.read_text()}")
