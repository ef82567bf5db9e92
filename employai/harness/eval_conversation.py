"""`employai eval conversation`: scripted callers doing front-desk jobs over the real telephone path.

Per profile (`default`: Acme Plumbing on the embedded defaults plus a transfer directory; `dental`: the clinic of
tests/data/dental.toml) a bot is started with `employai run` (its own process, data directory and config, written
here) and called once per dialogue by `employai dial` offering only PCMU or PCMA: the caller's voice reaches the
bot as 8 kHz G.711 over a real SIP call on loopback, not a simulation. Each caller turn is scored by what the
bot's next reply had to contain or do, each dialogue by its outcome (see `conversation_scoring`). Prints a table
(turns and dialogues passed, voice-to-voice p50/p95) and every failure, and writes them as JSON to the workdir.

`--model PATH` runs the bot on another GGUF; `--base-url URL` on an OpenAI-compatible server (`--model`: the
served model's name); `--stt-model DIR` hears with another CTranslate2 Whisper, and `--stt-unsure-logprob X` gives
its doubt threshold (`stt.unsure_logprob`, as `employai eval hearing` measures it for that model). The `-c`
configuration is not used: each profile's bot has its own. Blocking, one thread.
"""

from __future__ import annotations

import json
import shutil
import statistics
import time
from dataclasses import asdict
from pathlib import Path

from employai.harness.conversation_calls import CallerVoices, play
from employai.harness.conversation_scoring import DialogueScore, score_dialogue
from employai.harness.dialogues import Profile, profiles
from employai.harness.launcher import BotProcess, start_bot
from employai.runtime.progress import progress, say


def model_toml(model: str | None, base_url: str | None, stt_model: str | None = None,
               unsure_logprob: float | None = None) -> str:
    """The [llm] and [stt] tables for models other than the bundled ones ('' for the bundled ones)."""
    tables = ""
    if base_url:
        served = json.dumps(model or "default")
        tables += f'[llm]\nbackend = "openai"\nbase_url = {json.dumps(base_url)}\nmodel = {served}\n'
    elif model:
        tables += f"[llm]\nmodel = {json.dumps(str(Path(model).expanduser().resolve()))}\n"
    stt = f"model = {json.dumps(str(Path(stt_model).expanduser().resolve()))}\n" if stt_model else ""
    stt += f"unsure_logprob = {float(unsure_logprob)!r}\n" if unsure_logprob is not None else ""
    if stt:
        tables += f"[stt]\n{stt}"
    return tables


def start_profile_bot(profile: Profile, workdir: Path, extra_toml: str = "") -> BotProcess:
    """A fresh bot for a profile: an empty database, so no earlier run's memory changes the replies."""
    shutil.rmtree(workdir, ignore_errors=True)
    return start_bot(workdir, profile.bot_toml + "\n" + extra_toml)


def run_profile(profile: Profile, workdir: Path, quick: bool, extra_toml: str = "",
                only: frozenset[str] = frozenset()) -> list[DialogueScore]:
    dialogues = [profile.dialogue(n) for n in profile.quick] if quick else list(profile.dialogues)
    dialogues = [d for d in dialogues if d.name in only] if only else dialogues
    voices = CallerVoices(workdir / "voices")
    calls_dir = workdir / profile.name / "calls"
    calls_dir.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    bot = start_profile_bot(profile, workdir / profile.name / "bot", extra_toml)
    print(f"{profile.name}: bot started in {time.monotonic() - began:.0f} s ({profile.about})", flush=True)
    scores = []
    try:
        for n, dialogue in enumerate(progress(dialogues, profile.name, unit="dialogue")):
            began = time.monotonic()
            call = play(bot, dialogue, f"eval-{profile.name}-{n:02d}", voices, calls_dir)
            score = score_dialogue(dialogue, call)
            scores.append(score)
            passed = sum(t.passed for t in score.turns)
            say(f"  {dialogue.name:<28} turns {passed:>2}/{len(score.turns):<2} "
                f"{'passed' if score.passed else 'failed'}  ({time.monotonic() - began:.0f} s, "
                f"{dialogue.voice}, {dialogue.codec})")
    finally:
        bot.stop()
    return scores


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _latency(scores: list[DialogueScore]) -> str:
    values = [v for s in scores for v in s.latencies]
    if not values:
        return "n/a"
    return f"{statistics.median(values) * 1000:.0f} / {_percentile(values, 0.95) * 1000:.0f} ms (n={len(values)})"


def _ratio(passed: int, total: int) -> str:
    return f"{passed}/{total} ({passed / total:.0%})" if total else "0/0"


def print_report(results: dict[str, list[DialogueScore]], minutes: float, model: str) -> None:
    print(f"\nConversation eval: scripted callers over 8 kHz G.711 (PCMU/PCMA) through real SIP calls"
          f" to `employai run`; model: {model}; {minutes:.1f} min")
    print(f"{'profile':<9} {'turns passed':<16} {'dialogues passed':<18} voice-to-voice p50 / p95")
    for name, scores in results.items():
        turns = [t for s in scores for t in s.turns]
        print(f"{name:<9} {_ratio(sum(t.passed for t in turns), len(turns)):<16} "
              f"{_ratio(sum(s.passed for s in scores), len(scores)):<18} {_latency(scores)}")
    for name, scores in results.items():
        failed = [s for s in scores if not s.passed or not all(t.passed for t in s.turns)]
        if failed:
            print(f"\nFailures ({name}):")
            for score in failed:
                print(score.report())


def run_eval_conversation(config, args) -> int:
    chosen = getattr(args, "profile", "all") or "all"
    available = profiles()
    if chosen != "all" and chosen not in available:
        print(f"employai: unknown profile {chosen!r}; use {', '.join(available)} or all")
        return 2
    model, base_url = getattr(args, "model", None), getattr(args, "base_url", None)
    stt_model, unsure = getattr(args, "stt_model", None), getattr(args, "stt_unsure_logprob", None)
    extra = model_toml(model, base_url, stt_model, unsure)
    workdir = Path(args.workdir).resolve()
    began = time.monotonic()
    results = {}
    only = frozenset(n.strip() for n in (getattr(args, "only", "") or "").split(",") if n.strip())
    for name in available if chosen == "all" else [chosen]:
        if only and not only & {d.name for d in available[name].dialogues}:
            continue
        results[name] = run_profile(available[name], workdir, args.quick, extra, only)
    label = f"{model or 'default'} at {base_url}" if base_url else (model or "bundled (SmolLM2-135M)")
    label += f"; speech to text: {stt_model or 'bundled (Whisper tiny.en)'}"
    label += f", doubt threshold {unsure}" if unsure is not None else ""
    print_report(results, (time.monotonic() - began) / 60, label)
    out = workdir / "conversation-results.json"
    out.write_text(json.dumps({name: [asdict(s) for s in scores] for name, scores in results.items()}, indent=1))
    print(f"\nresults: {out}")
    return 0
