"""The real engines on short inputs: Whisper on human speech, Piper, the llama.cpp client, an OpenAI-compatible
server (llama.cpp's own) behind the same agent."""

from __future__ import annotations

import asyncio
import csv
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest
from autogen_core import CancellationToken
from autogen_core.models import CreateResult, SystemMessage, UserMessage

from brain.front_desk import FrontDesk
from brain.model_clients import build_model_client
from brain.persona import front_desk_prompt
from employai.harness.wer import wer
from sip_config import config_from_dict, resolve_models
from speech.pcm import RATE, read_wav

from .peers import REPO, SHARED_EVAL, free_port

pytestmark = pytest.mark.engine


def test_whisper_transcribes_real_human_speech(transcriber):
    rows = list(csv.DictReader(open(SHARED_EVAL / "manifest.tsv"), delimiter="\t"))
    picked = [r for r in rows if r["filename"] in ("LDC93S1.wav", "vctk_p226_003.wav", "jfk.flac", "goforward.wav")]
    hyps = [transcriber.transcribe(read_wav(SHARED_EVAL / r["filename"]).tobytes()).text for r in picked]
    assert wer([r["transcript"] for r in picked], hyps) < 0.12, hyps


def test_piper_speaks_at_16k_and_whisper_understands_it(synthesizer, transcriber):
    pcm = synthesizer.synthesize("A standard call-out visit costs eighty dollars.")
    samples = np.frombuffer(pcm, dtype=np.int16)
    assert 1.5 < samples.size / RATE < 6
    assert 0.45 * 32767 <= np.abs(samples.astype(np.int32)).max() <= 0.55 * 32767
    assert wer(["a standard call out visit costs eighty dollars"], [transcriber.transcribe(pcm).text]) <= 0.15


def test_piper_variation_zero_says_a_sentence_the_same_way_every_time(steady_synthesizer):
    assert steady_synthesizer.synthesize("Hello there.") == steady_synthesizer.synthesize("Hello there.")


def test_llama_client_streams_and_stops_when_the_consumer_stops(config):
    client = build_model_client(config.llm, resolve_models(config))
    messages = [SystemMessage(content="You are helpful."), UserMessage(content="Count from one to fifty.",
                                                                       source="user")]

    async def scenario():
        pieces, result = [], None
        async for item in client.create_stream(messages):
            if isinstance(item, CreateResult):
                result = item
            else:
                pieces.append(item)
        assert result is not None and result.content == "".join(pieces) and len(pieces) > 3
        stream = client.create_stream(messages)
        first = await stream.__anext__()
        assert isinstance(first, str)
        await stream.aclose()  # a barge-in: the generation must end and free the model
        started = time.monotonic()
        again = await asyncio.wait_for(client.create(messages, extra_create_args={"max_tokens": 4}), 30)
        return again, time.monotonic() - started

    again, seconds = asyncio.run(scenario())
    assert isinstance(again.content, str) and again.content
    assert seconds < 10


def test_front_desk_history_keeps_what_the_caller_heard(config):
    desk = FrontDesk(build_model_client(config.llm, resolve_models(config)), front_desk_prompt(config.profile))

    async def scenario():
        reply = "".join([p async for p in desk.reply("Hello, who am I speaking to?", CancellationToken())])
        heard = " ".join(reply.split()[:3])  # the caller talked over the rest
        await desk.note_spoken(heard)
        return reply, heard, await desk._context.get_messages()

    reply, heard, history = asyncio.run(scenario())
    assert reply.strip() and heard != reply.strip()
    assert history[-1].content == heard and history[-2].source == "caller"


def test_openai_compatible_server_backend(tmp_path):
    """The same agent over HTTP, against llama.cpp's own OpenAI-compatible server (any such URL works)."""
    port = free_port()
    gguf = resolve_models(config_from_dict({})).gguf
    server = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1", "--port",
         str(port), "--n_ctx", "2048", "--model_alias", "smollm2"],
        stdout=open(tmp_path / "server.log", "w"), stderr=subprocess.STDOUT, cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, (tmp_path / "server.log").read_text()
                time.sleep(0.5)
        config = config_from_dict({"llm": {"backend": "openai", "base_url": f"http://127.0.0.1:{port}/v1",
                                           "model": "smollm2", "max_reply_tokens": 24}})
        desk = FrontDesk(build_model_client(config.llm, resolve_models(config)), front_desk_prompt(config.profile))

        async def scenario():
            return [p async for p in desk.reply("Hello, who am I speaking to?", CancellationToken())]

        pieces = asyncio.run(scenario())
        assert len(pieces) > 2 and "".join(pieces).strip()  # streamed, piece by piece
    finally:
        server.terminate()
        server.wait(10)


def test_chat_command_answers_typed_questions(tmp_path):
    config = tmp_path / "chat.toml"
    config.write_text(f'[data]\ndir = "{tmp_path}"\n')
    result = subprocess.run([sys.executable, "-m", "employai", "-c", str(config), "chat"],
                            input="How much does a visit cost?\n", capture_output=True, text=True, timeout=120,
                            cwd=REPO)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("Hello, this is Joe")
    assert "eighty dollars" in lines[1]
