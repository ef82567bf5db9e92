"""A real PostgreSQL server for the test session: Debian's `postgresql` package, run in a temporary directory as an
unprivileged user (postgres refuses to run as root, and tests run as root here and in CI).

One server per session (initdb + start is the costly part, about two seconds); each test gets a schema of its
own, named in the URL's search_path, so tests stay independent and fast. Without the package the tests that need
it fail and say how to install it: a storage test skipped would look like a pass.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

MISSING = ("PostgreSQL is not installed (Debian package `postgresql`): run `make test-peers`, which installs the "
           "packages the tests need")
USER = "nobody"  # whom the server runs as when the tests run as root


def bindir() -> Path | None:
    """Where initdb and pg_ctl are: `pg_config --bindir` when it names them, else the newest Debian version."""
    try:
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, timeout=10).stdout.strip()
        if out and (Path(out) / "initdb").exists():
            return Path(out)
    except (OSError, subprocess.SubprocessError):
        pass
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    def __init__(self, bin_dir: Path):
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="employai-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            account = pwd.getpwnam(USER)
            os.chown(self.root, account.pw_uid, account.pw_gid)
            self._as_user = ["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--clear-groups",
                             "--"]
        self._schemas = itertools.count(1)

    def _run(self, *args: str, timeout: float = 60) -> None:
        done = subprocess.run([*self._as_user, *args], cwd=self.root, capture_output=True, text=True,
                              timeout=timeout, env={**os.environ, "HOME": str(self.root), "LC_ALL": "C.UTF-8"})
        if done.returncode != 0:
            log = (self.root / "server.log").read_text() if (self.root / "server.log").exists() else ""
            raise RuntimeError(f"{args[0]} failed: {done.stdout}{done.stderr}{log}")

    def start(self) -> PostgresServer:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "--auth=trust", "-U", "test", "-E", "UTF8",
                  "--no-sync", "--no-instructions")
        options = (f"-k {self.root} -p {self.port} -c listen_addresses=127.0.0.1 -c fsync=off"
                   " -c full_page_writes=off -c synchronous_commit=off -c max_connections=60")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.root / "server.log"),
                  "-w", "-t", "60", "start")
        return self

    @property
    def url(self) -> str:
        return f"postgresql://test@127.0.0.1:{self.port}/postgres"

    def fresh_url(self) -> str:
        """A URL whose tables live in a schema of their own, new and empty."""
        import psycopg

        name = f"t{next(self._schemas)}"
        with psycopg.connect(self.url, autocommit=True) as db:
            db.execute(f"CREATE SCHEMA {name}")
        return f"{self.url}?options=-csearch_path%3D{name}"

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_server() -> PostgresServer:
    bin_dir = bindir()
    if bin_dir is None:
        pytest.fail(MISSING, pytrace=False)
    return PostgresServer(bin_dir).start()
