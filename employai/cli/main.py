"""The `employai` command."""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import sys
from pathlib import Path

from employai.runtime.logs import setup_logging
from memory.database import DatabaseUnavailable
from sip_config import ConfigError, load_config, resolve_models

EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="employai", description="A fully local telephone employee.")
    p.add_argument("--config", "-c", help="TOML config file (default: the embedded defaults)")
    p.add_argument("--verbose", "-v", action="store_true", help="debug logging (shows personal data)")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="answer calls")
    chat = sub.add_parser("chat", help="talk to the brain by typing")
    chat.add_argument("--caller", default="", help="act as this caller (phone number or SIP user)")
    say = sub.add_parser("say", help="synthesise TEXT to a WAV file")
    say.add_argument("text")
    say.add_argument("-o", "--output", required=True)
    tr = sub.add_parser("transcribe", help="transcribe a WAV file")
    tr.add_argument("file")
    dial = sub.add_parser("dial", help="test caller: call URI, play questions, record the answers")
    dial.add_argument("uri")
    dial.add_argument("--play", action="append", default=[], help="WAV to say (repeat for several turns)")
    dial.add_argument("--record", required=True, help="WAV file for everything heard")
    dial.add_argument("--port", type=int, default=5070, help="local SIP port of the test caller")
    dial.add_argument("--codec", default="PCMU", help="codec to offer (G722, PCMU, PCMA)")
    dial.add_argument("--timeout", type=float, default=60.0)
    dial.add_argument("--json", action="store_true", help="print per-turn latency as JSON")
    dial.add_argument("--keys", dest="play", action="append", type=lambda keys: "keys:" + keys, metavar="KEYS",
                      help="a turn of DTMF keys instead of a WAV, e.g. 5550107788# (info:123# for SIP INFO)")
    dial.add_argument("--user", default="tester", help="SIP user of the test caller (its caller ID)")
    dial.add_argument("--linger", type=float, default=0.0, help="after the last turn, wait this long for a BYE")
    dial.add_argument("--listen", help="JSON list of checks the caller answers (employai.harness.dialer.Listening)")
    memory = sub.add_parser("memory", help="what the bot remembers of a caller")
    memory_sub = memory.add_subparsers(dest="memory_command", required=True)
    show = memory_sub.add_parser("show", help="print a caller's memory")
    show.add_argument("caller", help="phone number or SIP user, as it calls in")
    show.add_argument("--json", action="store_true")
    fact = memory_sub.add_parser("set", help="correct one fact remembered of a caller ('' as VALUE forgets it)")
    fact.add_argument("caller")
    fact.add_argument("key", help="the fact's name, as `memory show` prints it: name, callback number, ...")
    fact.add_argument("value")
    forget = memory_sub.add_parser("forget", help="erase everything remembered of a caller")
    forget.add_argument("caller")
    pin = memory_sub.add_parser("pin", help="set the PIN a caller can prove who they are with on the phone")
    pin.add_argument("caller")
    pin.add_argument("--pin-stdin", action="store_true", help="read the PIN from standard input (no prompt)")
    pin.add_argument("--clear", action="store_true", help="remove the caller's PIN")
    knowledge = sub.add_parser("knowledge", help="the organisation's knowledge base")
    knowledge_sub = knowledge.add_subparsers(dest="knowledge_command", required=True)
    add = knowledge_sub.add_parser("add", help="add text, Markdown or PDF files (a name already there is replaced)")
    add.add_argument("files", nargs="+")
    knowledge_sub.add_parser("list", help="the documents in the knowledge base")
    remove = knowledge_sub.add_parser("remove", help="remove a document from the knowledge base")
    remove.add_argument("source", help="the document's name, as `employai knowledge list` shows it")
    sub.add_parser("status", help="is the bot running, is it registered, how many calls")
    call = sub.add_parser("call", help="schedule an outbound call (placed by `employai run`)")
    call.add_argument("uri", help="a SIP URI, or a number or extension at the bot's SIP domain")
    call.add_argument("--at", default="now", help="now, +5m, 14:30 or 2026-11-26T14:30 (local time)")
    call.add_argument("--task", required=True, help="what the call is for; the bot says it and carries it out")
    call.add_argument("--attempts", type=int, default=0, help="attempts at most (default: outbound.max_attempts)")
    calls = sub.add_parser("calls", help="scheduled outbound calls")
    calls_sub = calls.add_subparsers(dest="calls_command", required=True)
    listing = calls_sub.add_parser("scheduled", help="list the scheduled calls")
    listing.add_argument("--all", action="store_true", help="include finished and cancelled calls")
    listing.add_argument("--attempts", dest="verbose_attempts", action="store_true", help="show every attempt")
    cancel = calls_sub.add_parser("cancel", help="cancel a scheduled call")
    cancel.add_argument("id", type=int)
    tasks = sub.add_parser("tasks", help="completed forms, messages and callbacks waiting for staff")
    tasks.add_argument("--all", action="store_true", help="include done ones")
    tasks.add_argument("--json", action="store_true")
    tasks.add_argument("--done", type=int, metavar="ID", help="mark a task done")
    evaluate = sub.add_parser("eval", help="evaluations")
    evaluate.add_argument("what", choices=["memory", "hearing", "conversation"],
                          help="memory: deep memory retrieval; hearing: the business's words over G.711 with and"
                               " without STT biasing; conversation: scripted callers doing front-desk jobs")
    evaluate.add_argument("--profile", default="all", help="conversation: default, dental or all")
    evaluate.add_argument("--workdir", default="eval-out", help="hearing, conversation: audio and logs go here")
    evaluate.add_argument("--quick", action="store_true", help="hearing, conversation: a few items only")
    evaluate.add_argument("--only", default="", help="conversation: these dialogues only (names, comma-separated)")
    evaluate.add_argument("--model", help="conversation: a .gguf for the bot (with --base-url: the served model)")
    evaluate.add_argument("--base-url", help="conversation: an OpenAI-compatible server for the bot's model")
    evaluate.add_argument("--stt-model", help="conversation: a CTranslate2 Whisper directory for the bot's hearing")
    evaluate.add_argument("--stt-unsure-logprob", type=float,
                          help="conversation: that Whisper's doubt threshold (eval hearing measures it)")
    bench = sub.add_parser("bench", help="voice-to-voice latency and telephone-path WER against a running bot")
    bench.add_argument("--uri", help="a running bot to measure (default: start one on the bundled models)")
    bench.add_argument("--eval-dir", default=str(Path(__file__).resolve().parents[3] / "shared" / "eval" / "speech"))
    bench.add_argument("--workdir", default="bench-out")
    bench.add_argument("--llm", action="store_true", help="the in-process model alone: first token, decode speed")
    bench.add_argument("--extra-buffers", choices=["on", "off"], help="--llm: override llm.extra_buffers")
    bench.add_argument("--heavy", action="store_true",
                       help="--calls: questions no fact answers, answered by the model (the most CPU a turn takes)")
    bench.add_argument("--cores", type=int, default=0,
                       help="--calls: the bot's capacity.cores (above the machine's: more CPU lanes than fit)")
    bench.add_argument("--batching", action="store_true", help="Whisper: turns of several calls one by one or batched")
    bench.add_argument("--reliability", action="store_true",
                       help="flood, torture, kill -9 and restart, and a soak of concurrent calls (starts its own bot)")
    bench.add_argument("--soak-minutes", type=float, default=2.0, help="--reliability: how long the soak lasts")
    bench.add_argument("--calls", default="",
                       help="callers at once, e.g. 1,2,4,6,8: the load benchmark (with --reliability: the soak's "
                            "callers, default 2)")
    return p


def main(argv: list[str] | None = None) -> int:
    # A native crash (a segmentation fault in llama.cpp, PJSIP or an audio library) prints the Python stack of
    # every thread to stderr before the process dies, so the report says where it happened (README "Crashes").
    faulthandler.enable(all_threads=True)
    args = _parser().parse_args(argv)
    setup_logging(args.verbose)
    try:
        config = load_config(args.config)
        if args.command in ("run", "chat", "say", "transcribe"):
            resolve_models(config)
    except ConfigError as exc:
        print(f"employai: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        return _dispatch(args, config)
    except KeyboardInterrupt:
        return 130
    except ConfigError as exc:  # found only as it starts: the console's address is taken
        print(f"employai: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except DatabaseUnavailable as exc:  # data.url names a server that is down or refuses us
        print(f"employai: {exc}", file=sys.stderr)
        return 1


def _dispatch(args: argparse.Namespace, config) -> int:
    if args.command == "run":
        from employai.runtime.app import run_bot

        asyncio.run(run_bot(config))
        return 0
    if args.command == "chat":
        from employai.cli.chat import run_chat

        return asyncio.run(run_chat(config, args.caller))
    if args.command == "say":
        from employai.runtime.engines import load_synthesizer
        from speech.pcm import write_wav

        write_wav(args.output, load_synthesizer(config).synthesize(args.text))
        return 0
    if args.command == "transcribe":
        from employai.runtime.engines import load_transcriber
        from speech.pcm import read_wav

        print(load_transcriber(config).transcribe(read_wav(args.file).tobytes()).text)
        return 0
    if args.command == "dial":
        from employai.harness.dialer import run_dial

        return run_dial(args)
    if args.command == "memory":
        from employai.cli.memory import run_memory

        return run_memory(args, config)
    if args.command == "knowledge":
        from employai.cli.knowledge import run_knowledge

        return run_knowledge(args, config)
    if args.command in ("status", "call", "calls"):
        from employai.cli.calls import run_call, run_calls, run_status

        return {"status": lambda: run_status(config), "call": lambda: run_call(args, config),
                "calls": lambda: run_calls(args, config)}[args.command]()
    if args.command == "tasks":
        from employai.cli.tasks import run_tasks

        return run_tasks(args, config)
    if args.command == "eval" and args.what == "hearing":
        from employai.harness.eval_hearing import run_eval_hearing

        return run_eval_hearing(config, args)
    if args.command == "eval" and args.what == "conversation":
        from employai.harness.eval_conversation import run_eval_conversation

        return run_eval_conversation(config, args)
    if args.command == "eval":
        from employai.harness.eval_memory import run_eval_memory

        return run_eval_memory(config)
    if args.command == "bench" and args.batching:
        from employai.harness.bench_batching import run_bench_batching

        return run_bench_batching(config, Path(args.eval_dir))
    if args.command == "bench" and args.calls and not args.reliability:
        from employai.harness.bench_calls import run_bench_calls

        try:
            counts = [int(n) for n in args.calls.split(",")]
        except ValueError:
            print("employai: --calls takes numbers of callers, e.g. 1,2,4,6,8", file=sys.stderr)
            return 2
        return run_bench_calls(config, Path(args.workdir), counts, heavy=args.heavy, cores=args.cores)
    if args.command == "bench" and args.reliability:
        from employai.harness.bench_reliability import run_reliability

        return run_reliability(args, config)
    if args.command == "bench" and args.llm:
        from employai.harness.bench_llm import run_bench_llm

        return run_bench_llm(config, extra_buffers=None if args.extra_buffers is None else args.extra_buffers == "on")
    if args.command == "bench":
        from employai.harness.bench import run_bench

        return run_bench(args, config)
    raise AssertionError(args.command)


if __name__ == "__main__":
    sys.exit(main())
