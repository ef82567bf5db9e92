"""`employai bench`: dial the bot from a SIP test caller over loopback and report what a caller experiences.

- voice-to-voice latency on the caller's side (end of the caller's speech to the first audible reply frame),
- the bot's per-stage times for the same turns (from its transcript database),
- word error rate of the bundled STT on real human speech: the clean file versus the telephone path
  (8 kHz G.711 into a real call), so the cost of the phone line shows.
A benchmark, not a test: it prints figures and checks nothing.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from employai.harness.launcher import BotProcess, start_bot
from employai.harness.wer import wer
from employai.runtime.cpu import cpu_model, machine_cores
from employai.runtime.engines import load_synthesizer, load_transcriber
from employai.runtime.progress import progress, say
from sip_config import Config
from speech.pcm import read_wav, write_wav
from speech.stt import Transcriber

QUESTIONS = [
    "What are your opening hours?",
    "How much does a visit cost?",
    "Can you fix my boiler?",
    "Are you open on Saturday?",
    "My kitchen drain is blocked, can you help?",
    "Who am I speaking with?",
]
TURNS_PER_CALL = 6


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _summary(values: list[float]) -> str:
    if not values:
        return "n/a"
    p50, p95 = statistics.median(values) * 1000, _percentile(values, 0.95) * 1000
    return f"p50 {p50:6.0f} ms   p95 {p95:6.0f} ms   (n={len(values)})"


def _dial(uri: str, questions: list[Path], workdir: Path, index: int) -> list[dict]:
    """One call in a child process (PJSUA2 allows one endpoint per process)."""
    cmd = [sys.executable, "-m", "employai", "dial", uri, "--record", str(workdir / f"heard-{index}.wav"),
           "--port", str(5200 + index * 2), "--codec", "PCMU", "--timeout", "300", "--json"]
    for q in questions:
        cmd += ["--play", str(q)]
    for _attempt in range(2):  # one retry: a lost call set-up is not a latency figure
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=400)
        lines = [line for line in out.stdout.splitlines() if line.startswith("[")]
        if lines:
            break
    if not lines:
        raise RuntimeError(f"the test caller failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return json.loads(lines[-1])


def run_bench(args: argparse.Namespace, config: Config) -> int:
    workdir = Path(args.workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    eval_dir = Path(args.eval_dir)
    manifest = list(csv.DictReader(open(eval_dir / "manifest.tsv", encoding="utf-8"), delimiter="\t"))
    synthesizer, transcriber = load_synthesizer(config), load_transcriber(config)

    prompts: list[tuple[Path, str | None]] = []
    for i, text in enumerate(QUESTIONS):
        path = workdir / f"question-{i}.wav"
        write_wav(path, synthesizer.synthesize(text))
        prompts.append((path, None))
    for row in manifest:
        path = workdir / (Path(row["filename"]).stem + ".wav")
        write_wav(path, read_wav(eval_dir / row["filename"]))
        prompts.append((path, row["transcript"]))

    if not args.uri:  # a fresh bot with an empty database: figures must not depend on earlier runs
        shutil.rmtree(workdir / "bot", ignore_errors=True)
    bot = start_bot(workdir / "bot") if not args.uri else None
    uri = bot.uri if bot is not None else args.uri
    results: list[dict] = []
    try:
        for n, start in enumerate(progress(range(0, len(prompts), TURNS_PER_CALL), "calls", unit="call")):
            batch = prompts[start : start + TURNS_PER_CALL]
            results += _dial(uri, [p for p, _ in batch], workdir, n)
            say(f"  call {n + 1}: {len(batch)} turns")
    finally:
        if bot is not None:
            bot.stop()

    latencies = [r["latency_s"] for r in results if r["latency_s"] is not None]
    stages = _stage_times(bot) if bot is not None else {}
    wer_clean, wer_phone = _wer(bot, prompts, results, transcriber) if bot is not None else (None, None)

    print(f"\nEmployai benchmark on {platform.processor() or platform.machine()}, "
          f"{cpu_model()}, {machine_cores()} cores, Python {platform.python_version()}")
    print(f"voice-to-voice (caller side, end of speech -> first reply audio): {_summary(latencies)}")
    print(f"  missing replies: {sum(r['latency_s'] is None for r in results)} of {len(results)}")
    for name, values in stages.items():
        print(f"  bot {name:<28} {_summary(values)}")
    if wer_clean is not None:
        print(f"WER on {sum(1 for _, ref in prompts if ref)} human recordings: clean file {wer_clean:.1%}, "
              f"telephone path (8 kHz PCMU) {wer_phone:.1%}")
    (workdir / "results.json").write_text(json.dumps({
        "latency_s": latencies, "stages_s": stages, "wer_clean": wer_clean, "wer_phone": wer_phone,
    }, indent=1))
    return 0


def _stage_times(bot: BotProcess) -> dict[str, list[float]]:
    keys = {"speech end -> transcript": "transcript_ready", "speech end -> first LLM token": "first_token",
            "speech end -> first TTS audio": "first_audio", "speech end -> first frame sent": "first_frame"}
    out: dict[str, list[float]] = {k: [] for k in keys}
    with bot.db() as db:
        rows = db.execute("SELECT * FROM turns WHERE role = 'bot' AND speech_end IS NOT NULL").fetchall()
    for row in rows:
        for label, column in keys.items():
            if row[column] is not None:
                out[label].append(row[column] - row["speech_end"])
    return out


def _wer(bot: BotProcess, prompts: list[tuple[Path, str | None]], results: list[dict],
         transcriber: Transcriber) -> tuple[float, float]:
    """Clean: the file straight into Whisper. Phone: what the bot transcribed of it during the call."""
    with bot.db() as db:
        caller_turns = db.execute(
            "SELECT text, speech_end FROM turns WHERE role = 'caller' ORDER BY speech_end").fetchall()
    refs, clean, phone = [], [], []
    for i, ((path, reference), result) in enumerate(zip(prompts, results, strict=False)):
        if reference is None:
            continue
        until = results[i + 1]["started_at"] if i + 1 < len(results) else float("inf")
        heard = " ".join(t["text"] for t in caller_turns if result["started_at"] <= t["speech_end"] < until)
        refs.append(reference)
        clean.append(transcriber.transcribe(read_wav(path).tobytes()).text)
        phone.append(heard)
    return wer(refs, clean), wer(refs, phone)
