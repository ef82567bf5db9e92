"""The bot under test of `employai bench --reliability` and `--calls`: `employai run` on the bundled models in a
directory of its own (restarted on the same data directory when it dies, each crash noted), the scripted caller
(`employai dial`, its own process, from 127.0.0.1), a plain INVITE probe, and the error lines of the bot's log."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from employai.harness.bench_soak import DialResult
from employai.harness.launcher import BotProcess, free_port, start_bot
from employai.harness.sip_torture import CALLER, Torture, request, send_one
from employai.runtime.progress import say

BOT_SIP = 'trusted_proxies = ["127.0.0.1"]'  # more keys of the bot's [sip] table
ERROR_MARKERS = ("Traceback", " ERROR ", " CRITICAL ", "Assertion", "Fatal Python error", "Segmentation fault",
                 "Error:")


class Bench:
    """The bot under test (restarted on the same data directory when it dies) and the scripted caller."""

    def __init__(self, workdir: Path, questions: list[Path], extra_toml: str = "", sip_toml: str = BOT_SIP):
        self.workdir = workdir
        self.questions = questions
        self._toml = (extra_toml, sip_toml)
        self.bot_dir = workdir / "bot"
        self._bot: BotProcess | None = None
        self.runs = 0
        self.crashes: list[dict] = []
        self._log_offset = 0

    def start(self) -> float:
        """Start (or restart) the bot; seconds until it said it is answering. The launcher rewrites bot.log, so
        the last run's log is kept as bot-run-N.log first."""
        log = self.bot_dir / "bot.log"
        if log.exists():
            shutil.copy(log, self.bot_dir / f"bot-run-{self.runs}.log")
        began = time.monotonic()
        self._bot = start_bot(self.bot_dir, extra_toml=self._toml[0], sip_toml=self._toml[1])
        self.runs += 1
        self._log_offset = 0
        return time.monotonic() - began

    @property
    def bot(self) -> BotProcess:
        """The bot's latest run (dead or alive); `start` first."""
        if self._bot is None:
            raise RuntimeError("the bot was never started")
        return self._bot

    def pid(self) -> int:
        return self.bot.proc.pid

    def alive(self) -> bool:
        return self._bot is not None and self._bot.proc.poll() is None

    def ensure(self, stage: str) -> bool:
        """Restart the bot if it died (a crash, recorded); whether it had."""
        if self.alive():
            return False
        tail = self.new_log()[-3000:]
        self.crashes.append({"stage": stage, "exit_code": self.bot.proc.returncode, "log_tail": tail})
        say(f"  the bot died during {stage} (exit code {self.bot.proc.returncode}); restarting it")
        self.start()
        return True

    def new_log(self) -> str:
        """The bot's log written since the last call."""
        try:
            with open(self.bot_dir / "bot.log", encoding="utf-8", errors="replace") as f:
                f.seek(self._log_offset)
                text = f.read()
                self._log_offset = f.tell()
        except OSError:
            return ""
        return text

    def dial_command(self, questions: list[Path], tag: str, timeout: float) -> list[str]:
        record = self.workdir / "heard" / f"{tag.rsplit('-', 1)[0]}.wav"  # the last call of each caller only
        record.parent.mkdir(exist_ok=True)
        cmd = [sys.executable, "-m", "employai", "dial", self.bot.uri, "--record", str(record),
               "--port", str(free_port()), "--codec", "PCMU", "--timeout", str(timeout), "--json"]
        for q in questions:
            cmd += ["--play", str(q)]
        return cmd

    def dial(self, questions: list[Path], tag: str, timeout: float = 60.0) -> DialResult:
        """One scripted call from 127.0.0.1 (`employai dial`, its own process)."""
        try:
            out = subprocess.run(self.dial_command(questions, tag, timeout), capture_output=True, text=True,
                                 timeout=timeout + 30, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return DialResult("failed", detail=f"{tag}: the test caller did not finish in {timeout + 30:.0f} s")
        lines = [line for line in out.stdout.splitlines() if line.startswith("[")]
        if lines:
            replies = [r["latency_s"] for r in json.loads(lines[-1])]
            return DialResult("completed" if all(x is not None for x in replies) else "reply missing", replies)
        last = (out.stderr.strip().splitlines() or ["(no output)"])[-1][-300:]
        return DialResult("not answered" if "was not answered" in out.stderr else "failed", detail=f"{tag}: {last}")

    def probe(self, deadline_s: float = 30.0) -> float | None:
        """Seconds until a plain INVITE from 127.0.0.1 is answered 200 (then ACKed and hung up), or None."""
        began = time.monotonic()
        normal = Torture("probe", "a normal INVITE", request().replace(f"sip:{CALLER}@", "sip:probe@"), "200")
        while time.monotonic() - began < deadline_s:
            if send_one(normal, ("127.0.0.1", self.bot.port), "127.0.0.1").final == 200:
                return time.monotonic() - began
            time.sleep(0.2)
        return None

    def stop(self) -> str:
        if self._bot is None:
            return "never started"
        if not self.alive():
            return f"had exited (code {self._bot.proc.returncode})"
        try:
            return f"exited with code {self.bot.stop()} on SIGTERM"
        except RuntimeError as exc:
            return str(exc)


def log_errors(text: str) -> list[str]:
    """Lines of the bot's log that speak of an error (Python tracebacks, PJSIP assertions, ERROR records)."""
    return [line[:300] for line in text.splitlines() if any(m in line for m in ERROR_MARKERS)]
