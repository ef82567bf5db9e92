"""Helpers that drive real processes: the bot (`employai run`), baresip and SIPp, all over loopback."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_EVAL = REPO.parent / "shared" / "eval" / "speech"
BOT_START_TIMEOUT = 90


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_port_pair() -> int:
    """A port free for both UDP and TCP."""
    for _ in range(50):
        port = free_udp_port()
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

    def stop(self, timeout: float = 20.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                raise AssertionError("the bot did not exit after SIGTERM") from None
        return self.proc.returncode


def start_bot(workdir: Path, extra_toml: str = "") -> BotProcess:
    port = free_port_pair()
    rtp = 20000 + (port % 20000) // 400 * 400
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "bot.toml"
    data = workdir / "data"
    config.write_text(
        f'[sip]\nport = {port}\nrtp_port = {rtp}\nrtp_port_range = 200\n'
        f'[data]\ndir = "{data}"\n{extra_toml}\n'
    )
    log_path = workdir / "bot.log"
    log_file = open(log_path, "w")  # noqa: SIM115 (kept open for the process's life)
    proc = subprocess.Popen(
        [sys.executable, "-m", "employai", "-c", str(config), "run"],
        stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=REPO,
    )
    deadline = time.monotonic() + BOT_START_TIMEOUT
    while time.monotonic() < deadline:
        if "is answering at" in log_path.read_text(errors="replace"):
            return BotProcess(proc, f"sip:employai@127.0.0.1:{port}", port, data / "employai.sqlite3", log_path)
        if proc.poll() is not None:
            raise AssertionError(f"the bot exited at start:\n{log_path.read_text()}")
        time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"the bot did not start in time:\n{log_path.read_text()}")


def to_phone_wav(src: Path, dst: Path, lead_s: float, tail_s: float, rate: int = 8000) -> Path:
    """Mono WAV at a telephone rate, with silence before (for the greeting) and after (to hear the reply)."""
    subprocess.run(["sox", str(src), "-r", str(rate), "-c", "1", "-b", "16", str(dst), "pad", str(lead_s),
                    str(tail_s)], check=True)
    return dst


def baresip_call(uri: str, source_wav: Path, workdir: Path, seconds: int) -> Path:
    """Call `uri` with baresip playing `source_wav`; returns the WAV of what baresip heard."""
    workdir.mkdir(parents=True, exist_ok=True)
    rec = workdir / "rec"
    rec.mkdir(exist_ok=True)
    port = free_udp_port()
    (workdir / "config").write_text(
        f"sip_listen 127.0.0.1:{port}\n"
        f"audio_source aufile,{source_wav}\n"
        f"audio_player aufile,{workdir / 'ignored.wav'}\n"
        "audio_alert aufile,/dev/null\n"
        "module_path /usr/lib/baresip/modules\n"
        "module stdio.so\nmodule g711.so\nmodule g722.so\nmodule aufile.so\nmodule sndfile.so\n"
        "module_app account.so\nmodule_app menu.so\n"
        f"snd_path {rec}\n"
        f"rtp_ports {30000 + port % 10000 // 2 * 2}-{30010 + port % 10000 // 2 * 2}\n"
    )
    (workdir / "accounts").write_text(f"<sip:caller@127.0.0.1:{port}>;regint=0\n")
    with open(workdir / "baresip.log", "w") as out:
        subprocess.run(["baresip", "-f", str(workdir), "-e", f"/dial {uri}", "-t", str(seconds)],
                       stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, timeout=seconds + 30,
                       cwd=workdir, env={**os.environ, "HOME": str(workdir)})
    heard = sorted(rec.glob("dump-*-dec.wav"))
    assert heard, f"baresip recorded nothing:\n{(workdir / 'baresip.log').read_text()}"
    return heard[-1]


def sipp(scenario: Path, target: str, workdir: Path, extra: list[str] | None = None,
         timeout: float = 60) -> subprocess.CompletedProcess:
    port = free_udp_port()
    cmd = ["sipp", "-sf", str(scenario), target, "-m", "1", "-i", "127.0.0.1", "-p", str(port), "-nostdin",
           "-timeout", f"{int(timeout)}s", "-trace_err", "-trace_msg", *(extra or [])]
    return subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout + 15)
