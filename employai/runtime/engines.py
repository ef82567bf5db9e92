"""The heavy engines, loaded once per process and shared by every call."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from autogen_core.models import ChatCompletionClient

from brain.model_clients import build_model_client
from memory.embeddings import Embedder, MiniLMEmbedder
from sip_config import Config, resolve_models
from speech.stt import DIGITS_PROMPT, Transcriber, WhisperOptions, WhisperTranscriber
from speech.tts import PiperSynthesizer, Synthesizer
from speech.tts_cache import CachedSynthesizer

from .answers import fixed_lines
from .understanding import Understanding
from .vocabulary import business_vocabulary

log = logging.getLogger(__name__)


@dataclass
class Engines:
    transcriber: Transcriber
    synthesizer: Synthesizer
    model_client: ChatCompletionClient
    canned: dict[str, bytes]  # pre-synthesised lines, spoken even if TTS fails mid-call
    embedder: Embedder | None
    understanding: Understanding  # the business's facts, forms and intents, by meaning


def canned_lines(config: Config) -> dict[str, str]:
    c = config.call
    return {
        "apology": c.apology_text, "silence_prompt": c.silence_prompt_text, "goodbye": c.goodbye_text,
        "max_duration": c.max_duration_text, "shutdown": c.shutdown_text, "greeting": config.profile.greeting,
    }


def load_transcriber(config: Config) -> WhisperTranscriber:
    s = config.stt
    options = WhisperOptions(compute_type=s.compute_type, cpu_threads=s.cpu_threads, beam_size=s.beam_size,
                             language=s.language, window_s=s.window_s, prompt=business_vocabulary(config),
                             digits_prompt=DIGITS_PROMPT if s.bias and s.language in ("", "en") else "")
    return WhisperTranscriber(resolve_models(config).whisper_dir, options).load()


def load_synthesizer(config: Config) -> PiperSynthesizer:
    return PiperSynthesizer(resolve_models(config).piper_voice, length_scale=config.tts.length_scale,
                            variation=config.tts.variation).load()


def _prewarm_prompt(model_client: ChatCompletionClient, config: Config) -> None:
    """Evaluate the front desk's instructions once, so llama.cpp's prefix cache has them before the first call."""
    import asyncio

    from autogen_core.models import AssistantMessage, LLMMessage, SystemMessage, UserMessage

    from brain.persona import front_desk_prompt

    messages: list[LLMMessage] = [SystemMessage(content=front_desk_prompt(config.profile)),
                AssistantMessage(content=config.profile.greeting, source="front_desk"),
                UserMessage(content="Hello.", source="caller")]
    asyncio.run(model_client.create(messages, extra_create_args={"max_tokens": 1}))


def load_engines(config: Config) -> Engines:
    """Blocking: resolve and load every model named by the config (a `ConfigError` names a bad key)."""
    models = resolve_models(config)
    started = time.monotonic()
    transcriber = load_transcriber(config)
    synthesizer = CachedSynthesizer(load_synthesizer(config))
    model_client = build_model_client(config.llm, models)
    canned = {key: synthesizer.synthesize(text) for key, text in canned_lines(config).items()}
    if config.llm.lead_with_facts:
        synthesizer.prewarm(config.profile.facts)  # a reply that starts with a fact starts at once
    if config.llm.backend == "llama_cpp":
        _prewarm_prompt(model_client, config)
    embedder = MiniLMEmbedder(models.embedding_zip).load()
    understanding = Understanding(config, embedder)
    synthesizer.prewarm(fixed_lines(config))  # the turn policy's own lines start at once
    log.info("engines loaded", extra={"seconds": round(time.monotonic() - started, 2)})
    return Engines(transcriber, synthesizer, model_client, canned, embedder, understanding)
