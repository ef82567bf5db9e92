"""Kamailio (registrar and proxy, with the project's own config) and SIPp servers as background processes."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

from .peers import free_udp_port

KAMAILIO_CFG = Path(__file__).resolve().parents[1] / "sip_config" / "kamailio" / "kamailio.cfg"
DISPATCHER_CFG = KAMAILIO_CFG.with_name("dispatcher.cfg")  # several bots behind Kamailio's dispatcher
PASSWORD = "employai-secret"  # the default in sip_config/kamailio/kamailio.cfg
REALM = "employai.test"  # its digest realm (REALM there)


def sip_ping(port: int, timeout: float = 0.5, address: str = "127.0.0.1") -> bool:
    """An OPTIONS to address:port; True if anything SIP answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(timeout)
        local, tag = s.getsockname()[1], time.time_ns()
        request = "\r\n".join([
            f"OPTIONS sip:{address}:{port} SIP/2.0", f"Via: SIP/2.0/UDP 127.0.0.1:{local};branch=z9hG4bK{tag}",
            "From: <sip:ping@127.0.0.1>;tag=1", f"To: <sip:{address}:{port}>", f"Call-ID: {tag}",
            "CSeq: 1 OPTIONS", "Max-Forwards: 70", "Content-Length: 0", "", ""])
        s.sendto(request.encode(), (address, port))
        try:
            return s.recv(2048).startswith(b"SIP/2.0")
        except OSError:
            return False


class Kamailio:
    def __init__(self, workdir: Path, port: int = 0, tcp: bool = False, address: str = "127.0.0.1",
                 cfg: Path = KAMAILIO_CFG, defines: dict[str, str] | None = None):
        """Listens on UDP, and on TCP too when `tcp`; on `port` when given (both protocols), else a free one; at
        `address` (any loopback address: a trusted proxy at its own address, apart from the callers'). `cfg`:
        the config (the registrar by default); `defines`: its #!define values, e.g. {"DS_LIST": '"/x.list"'}."""
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_udp_port()
        self.address = address
        listen = [f"udp:{address}:{self.port}"] + ([f"tcp:{address}:{self.port}"] if tcp else [])
        self.log_path = workdir / "kamailio.log"
        run_dir = workdir / "run"
        run_dir.mkdir(exist_ok=True)
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                ["kamailio", "-f", str(cfg), "-DD", "-E", "-Y", str(run_dir), "-w", str(run_dir),
                 *(arg for spec in listen for arg in ("-l", spec)),
                 *(arg for name, value in (defines or {}).items() for arg in ("-A", f"{name}={value}"))],
                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while not sip_ping(self.port, address=address):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"kamailio did not start:\n{self.log_path.read_text()}")
        self.registrar = f"sip:{address}:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def registration_toml(registrar: str, password: str = PASSWORD, expiry_s: int = 60, realm: str = REALM) -> str:
    return (f'[registration]\nregistrar = "{registrar}"\npassword = "{password}"\nexpiry_s = {expiry_s}\n'
            f'realm = "{realm}"\nretry_s = 1\nretry_max_s = 4\n')


class SippServer:
    """A SIPp UAS (callee) in the background, answering on its own port."""

    def __init__(self, scenario: Path, workdir: Path, calls: int = 1, timeout_s: int = 120, port: int = 0):
        self.port = port or free_udp_port()
        self.uri = f"sip:callee@127.0.0.1:{self.port}"
        media = free_udp_port()
        self.proc = subprocess.Popen(
            ["sipp", "-sf", str(scenario), "-i", "127.0.0.1", "-p", str(self.port), "-mp", str(media), "-m",
             str(calls), "-nostdin", "-timeout", f"{timeout_s}s", "-trace_err", "-trace_msg"],
            cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def wait(self, timeout: float) -> tuple[int, str]:
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
            return -1, out
        return self.proc.returncode, out
