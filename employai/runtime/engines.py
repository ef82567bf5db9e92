"""The heavy engines, loaded once per process and shared by every call."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from autogen_core.models import ChatCompletionClient

from brain.llama_cpp_client import LlamaCppChatClient
from brain.model_clients import build_model_client
from memory.embeddings import Embedder, MiniLMEmbedder
from sip_config import Config, resolve_models
from speech.stt import (
    ADDRESS_PROMPT,
    DIGITS_PROMPT,
    NAME_PROMPT,
    WHEN_PROMPT,
    PromptedTranscriber,
    WhisperOptions,
    WhisperTranscriber,
)
from speech.tts import PiperSynthesizer, Synthesizer
from speech.tts_cache import CachedSynthesizer

from .answers import fixed_lines
from .cpu import CpuLanes, lanes_for, machine_cores
from .progress import steps
from .scheduled import ScheduledEmbedder, ScheduledSynthesizer, ScheduledTranscriber, token_step
from .understanding import Understanding
from .vocabulary import business_vocabulary

log = logging.getLogger(__name__)


@dataclass
class Engines:
    transcriber: PromptedTranscriber  # its business prompt follows the knowledge base (`business_prompt`)
    synthesizer: Synthesizer
    model_client: ChatCompletionClient
    canned: dict[str, bytes]  # pre-synthesised lines, spoken even if TTS fails mid-call
    embedder: Embedder | None
    understanding: Understanding  # the business's facts, forms and intents, by meaning
    lanes: CpuLanes | None = None  # the CPU's model work across calls, in order of urgency (None: unscheduled)


def canned_lines(config: Config) -> dict[str, str]:
    c = config.call
    return {
        "apology": c.apology_text, "silence_prompt": c.silence_prompt_text, "goodbye": c.goodbye_text,
        "max_duration": c.max_duration_text, "shutdown": c.shutdown_text, "greeting": config.profile.greeting,
        "busy": config.capacity.busy_text,
    }


def load_transcriber(config: Config) -> WhisperTranscriber:
    s = config.stt
    english = s.bias and s.language in ("", "en")  # the expectation prompts are English words
    options = WhisperOptions(compute_type=s.compute_type, cpu_threads=s.cpu_threads, beam_size=s.beam_size,
                             language=s.language, window_s=s.window_s, prompt=business_vocabulary(config),
                             digits_prompt=DIGITS_PROMPT if english else "", when_prompt=WHEN_PROMPT if english else "",
                             address_prompt=ADDRESS_PROMPT if english else "",
                             name_prompt=NAME_PROMPT if english else "", unsure_logprob=s.unsure_logprob)
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
    lanes = cpu_lanes(config)
    with steps(5, "loading models") as loading:  # a bar on a terminal only
        transcriber = ScheduledTranscriber(load_transcriber(config), lanes)
        loading.update()
        synthesizer = CachedSynthesizer(ScheduledSynthesizer(load_synthesizer(config), lanes))
        loading.update()
        model_client = build_model_client(config.llm, models)
        if isinstance(model_client, LlamaCppChatClient):
            model_client.step = token_step(lanes)
        canned = {key: synthesizer.synthesize(text) for key, text in canned_lines(config).items()}
        if config.llm.lead_with_facts:
            synthesizer.prewarm(config.profile.facts)  # a reply that starts with a fact starts at once
        if config.llm.backend == "llama_cpp":
            _prewarm_prompt(model_client, config)
        loading.update()
        embedder = ScheduledEmbedder(MiniLMEmbedder(models.embedding_zip).load(), lanes)
        understanding = Understanding(config, embedder)
        loading.update()
        synthesizer.prewarm(fixed_lines(config))  # the turn policy's own lines start at once
        loading.update()
    log.info("engines loaded", extra={"seconds": round(time.monotonic() - started, 2), "cpu_lanes": lanes.lanes})
    return Engines(transcriber, synthesizer, model_client, canned, embedder, understanding, lanes)


def cpu_lanes(config: Config) -> CpuLanes:
    """Lanes for the model work of all calls: as many as the cores hold jobs of the engines' thread counts."""
    cores = config.capacity.cores or machine_cores()
    per_job = max(config.stt.cpu_threads, config.llm.threads if config.llm.backend == "llama_cpp" else 1)
    return CpuLanes(lanes_for(cores, per_job))
