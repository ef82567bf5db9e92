"""Build the chat model client named by the configuration: in-process llama.cpp, or an OpenAI-compatible URL."""

from __future__ import annotations

import os

from autogen_core.models import ChatCompletionClient, ModelInfo

from sip_config.models import ModelPaths
from sip_config.schema import LlmSettings


def build_model_client(settings: LlmSettings, models: ModelPaths) -> ChatCompletionClient:
    """A loaded, ready client. Blocking (model load): call once per process, off the event loop."""
    if settings.backend == "openai":
        from autogen_ext.models.openai import OpenAIChatCompletionClient

        api_key = os.environ.get(settings.api_key_env, "") if settings.api_key_env else ""
        return OpenAIChatCompletionClient(
            model=settings.model,
            base_url=settings.base_url,
            api_key=api_key or "not-needed",
            temperature=settings.temperature,
            max_tokens=settings.max_reply_tokens,
            model_info=ModelInfo(vision=False, function_calling=settings.tools, json_output=False, family="unknown",
                                 structured_output=False),
        )
    from .llama_cpp_client import LlamaCppChatClient

    assert models.gguf is not None
    return LlamaCppChatClient(
        gguf=models.gguf,
        context_tokens=settings.context_tokens,
        threads=settings.threads,
        max_tokens=settings.max_reply_tokens,
        temperature=settings.temperature,
        extra_buffers=settings.extra_buffers,
    ).load()
