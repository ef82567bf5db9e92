"""Helpers that drive real processes: the bot (`employai run`), baresip and SIPp, all over loopback."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

from employai.harness.launcher import BotProcess, free_port, start_bot

__all__ = ["BotProcess", "free_port", "start_bot", "free_udp_port", "to_phone_wav", "baresip_call", "sipp"]

REPO = Path(__file__).resolve().parents[1]
SHARED_EVAL = REPO.parent / "shared" / "eval" / "speech"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def to_phone_wav(src: Path, dst: Path, lead_s: float, tail_s: float, rate: int = 16000) -> Path:
    """Mono 16-bit WAV with silence before (for the greeting) and after (to hear the reply)."""
    subprocess.run(["sox", str(src), "-r", str(rate), "-c", "1", "-b", "16", str(dst), "pad", str(lead_s),
                    str(tail_s)], check=True)
    return dst


def baresip_call(uri: str, source_wav: Path, workdir: Path, seconds: int, user: str = "caller",
                 wideband: bool = True, password: str = "") -> Path:
    """Call `uri` with baresip playing `source_wav`; returns the WAV of what baresip heard.

    Wideband offers PCMU, PCMA and G.722 (the bot picks G.722); narrowband offers only G.711 (8 kHz).
    baresip's aufile source must be at the codec's rate, so the file is converted here."""
    workdir.mkdir(parents=True, exist_ok=True)
    rate = 16000 if wideband else 8000
    source = workdir / f"source-{rate}.wav"
    subprocess.run(["sox", str(source_wav), "-r", str(rate), "-c", "1", "-b", "16", str(source)], check=True)
    source_wav = source
    rec = workdir / "rec"
    rec.mkdir(exist_ok=True)
    port = free_udp_port()
    (workdir / "config").write_text(
        f"sip_listen 127.0.0.1:{port}\n"
        f"audio_source aufile,{source_wav}\n"
        f"audio_player aufile,{workdir / 'ignored.wav'}\n"
        "audio_alert aufile,/dev/null\n"
        "module_path /usr/lib/baresip/modules\n"
        "module stdio.so\nmodule g711.so\n" + ("module g722.so\n" if wideband else "")
        + "module aufile.so\nmodule sndfile.so\n"
        "module_app account.so\nmodule_app menu.so\n"
        f"snd_path {rec}\n"
        f"rtp_ports {30000 + port % 10000 // 2 * 2}-{30010 + port % 10000 // 2 * 2}\n"
    )
    auth = f";auth_pass={password}" if password else ""  # answers a proxy's digest challenge
    (workdir / "accounts").write_text(f"<sip:{user}@127.0.0.1:{port}>;regint=0{auth}\n")
    with open(workdir / "baresip.log", "w") as out:
        subprocess.run(["baresip", "-f", str(workdir), "-e", f"/dial {uri}", "-t", str(seconds)],
                       stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, timeout=seconds + 30,
                       cwd=workdir, env={**os.environ, "HOME": str(workdir)})
    heard = sorted(rec.glob("dump-*-dec.wav"))
    assert heard, f"baresip recorded nothing:\n{(workdir / 'baresip.log').read_text()}"
    return heard[-1]


def sipp(scenario: Path, target: str, workdir: Path, extra: list[str] | None = None,
         timeout: float = 60) -> subprocess.CompletedProcess:
    port, media = free_udp_port(), free_udp_port()
    cmd = ["sipp", "-sf", str(scenario), target, "-m", "1", "-i", "127.0.0.1", "-p", str(port), "-mp", str(media),
           "-nostdin",
           "-timeout", f"{int(timeout)}s", "-trace_err", "-trace_msg", *(extra or [])]
    return subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout + 15)
