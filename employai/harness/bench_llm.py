"""`employai bench --llm`: the in-process model alone, as a call uses it: the front desk's instructions, then one
caller question; time to the first token and decode speed. Prints p50/p95 and the llama.cpp build's CPU features,
so builds (native, portable) and settings (`llm.extra_buffers`) can be compared on one machine.
A benchmark, not a test: it prints figures and checks nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import platform
import statistics
import time

from autogen_core.models import ChatCompletionClient, SystemMessage, UserMessage

from brain.model_clients import build_model_client
from brain.persona import front_desk_prompt
from employai.runtime.progress import progress
from sip_config import Config, resolve_models

QUESTIONS = [
    "What are your opening hours?", "How much does a visit cost?", "Can you fix my boiler?",
    "Are you open on Saturday?", "My kitchen drain is blocked, can you help?", "Who am I speaking with?",
    "Do you do emergency call-outs at night?", "My water heater is leaking, what should I do?",
    "Can I book a visit for Tuesday morning?", "Thank you, goodbye.",
]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _one(client: ChatCompletionClient, system: str, question: str) -> tuple[float, float, int]:
    started = time.perf_counter()
    first = None
    pieces = 0
    async for item in client.create_stream([SystemMessage(content=system), UserMessage(content=question,
                                                                                       source="caller")]):
        if isinstance(item, str):
            first = first or time.perf_counter()
            pieces += 1
    end = time.perf_counter()
    first = first or end
    return first - started, end - first, pieces


def run_bench_llm(config: Config, rounds: int = 3, extra_buffers: bool | None = None) -> int:
    if extra_buffers is not None:
        config = dataclasses.replace(config, llm=dataclasses.replace(config.llm, extra_buffers=extra_buffers))
    import llama_cpp

    started = time.perf_counter()
    client = build_model_client(config.llm, resolve_models(config))
    load_s = time.perf_counter() - started
    system = front_desk_prompt(config.profile)
    first_tokens, speeds = [], []
    for i in progress(range(rounds * len(QUESTIONS)), "questions", unit="question"):
        # A different question each time after the first round: the prompt prefix is cached, as on a call.
        first, decode, pieces = asyncio.run(_one(client, system, QUESTIONS[i % len(QUESTIONS)]))
        first_tokens.append(first)
        if pieces > 1 and decode > 0:
            speeds.append((pieces - 1) / decode)
    info = llama_cpp.llama_print_system_info().decode(errors="replace").strip()
    print(f"machine: {platform.processor() or platform.machine()}, {platform.platform()}")
    print(f"llama.cpp {llama_cpp.__version__}: {info}")
    print(f"llm.extra_buffers = {config.llm.extra_buffers}, threads = {config.llm.threads}, load {load_s:.2f} s")
    print(f"first token:  p50 {statistics.median(first_tokens) * 1000:6.0f} ms   "
          f"p95 {_percentile(first_tokens, 0.95) * 1000:6.0f} ms   (n={len(first_tokens)})")
    if speeds:
        print(f"decode:       p50 {statistics.median(speeds):6.1f} tok/s p5 {_percentile(speeds, 0.05):6.1f} tok/s")
    return 0
