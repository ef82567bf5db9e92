"""An AutoGen `ChatCompletionClient` over an in-process llama.cpp model (llama-cpp-python), with streaming.

autogen-ext's own LlamaCppChatCompletionClient cannot stream (0.7.5 raises NotImplementedError), and a voice
needs the first words at once. One `Llama` is loaded per process and shared by every call; a lock serialises
generations, which run in a worker thread and hand tokens to the event loop as they come.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from collections.abc import AsyncGenerator, Callable, Generator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from autogen_core import CancellationToken
from autogen_core.models import (
    AssistantMessage,
    ChatCompletionClient,
    CreateResult,
    FunctionExecutionResultMessage,
    LLMMessage,
    ModelCapabilities,
    ModelInfo,
    RequestUsage,
    SystemMessage,
    UserMessage,
)
from autogen_core.tools import Tool, ToolSchema
from pydantic import BaseModel

if TYPE_CHECKING:
    from llama_cpp import Llama
    from llama_cpp.llama_types import ChatCompletionRequestMessage, CreateChatCompletionStreamResponse

# What the worker thread hands the event loop: a text piece, ("finish", reason), its error, or None when done.
_Item = str | tuple[str, str] | BaseException | None


def to_chat_messages(messages: Sequence[LLMMessage]) -> list[ChatCompletionRequestMessage]:
    """AutoGen messages as llama.cpp chat messages (text only; this client offers no tools)."""
    out: list[ChatCompletionRequestMessage] = []
    for m in messages:
        if isinstance(m, SystemMessage):
            out.append({"role": "system", "content": m.content})
        elif isinstance(m, UserMessage):
            text = m.content if isinstance(m.content, str) else " ".join(p for p in m.content if isinstance(p, str))
            out.append({"role": "user", "content": text})
        elif isinstance(m, AssistantMessage) and isinstance(m.content, str):
            out.append({"role": "assistant", "content": m.content})
        elif isinstance(m, FunctionExecutionResultMessage):
            out.append({"role": "user", "content": "\n".join(r.content for r in m.content)})
    return out


class LlamaCppChatClient(ChatCompletionClient):
    def __init__(self, gguf: Path, context_tokens: int, threads: int, max_tokens: int, temperature: float,
                 extra_buffers: bool = False, step: Callable[[Callable[[], Any]], Any] | None = None):
        self._extra_buffers = extra_buffers
        # Runs each piece of the model's work (one token; the prompt with the first): the bot's CPU scheduler
        # puts it in turn with the other calls' work. By default, at once.
        self.step: Callable[[Callable[[], Any]], Any] = step or (lambda fn: fn())
        self._gguf = gguf
        self._context_tokens = context_tokens
        self._threads = threads
        self._max_tokens = max_tokens
        self._temperature = temperature
        self._llama: Llama | None = None
        self._lock = threading.Lock()
        self._usage = RequestUsage(prompt_tokens=0, completion_tokens=0)
        self._last_usage = RequestUsage(prompt_tokens=0, completion_tokens=0)

    def load(self) -> LlamaCppChatClient:
        from llama_cpp import Llama

        with _model_defaults(extra_buffers=self._extra_buffers):
            self._llama = Llama(
                model_path=str(self._gguf), n_ctx=self._context_tokens, n_threads=self._threads,
                n_threads_batch=self._threads, verbose=False,
            )
        return self

    async def create(self, messages: Sequence[LLMMessage], **kwargs: Any) -> CreateResult:
        result = None
        async for item in self.create_stream(messages, **kwargs):
            if isinstance(item, CreateResult):
                result = item
        assert result is not None
        return result

    async def create_stream(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = (),
        tool_choice: Tool | Literal["auto", "required", "none"] = "auto",
        json_output: bool | type[BaseModel] | None = None,
        extra_create_args: Mapping[str, Any] = {},  # noqa: B006 (the interface's signature)
        cancellation_token: CancellationToken | None = None,
    ) -> AsyncGenerator[str | CreateResult, None]:
        llama = self._llama
        if llama is None:
            raise RuntimeError("LlamaCppChatClient.load() was not called")
        loop = asyncio.get_running_loop()
        tokens: asyncio.Queue[_Item] = asyncio.Queue()
        stop = threading.Event()
        chat = to_chat_messages(messages)
        max_tokens = int(extra_create_args.get("max_tokens", self._max_tokens))
        context = contextvars.copy_context()  # whose turn this is, for `step` in the worker thread
        worker = loop.run_in_executor(None, context.run, self._generate, llama, chat, max_tokens, stop, loop, tokens)
        if cancellation_token is not None:
            cancellation_token.link_future(worker)
        parts: list[str] = []
        finish = "stop"
        try:
            while True:
                item = await tokens.get()
                if item is None:
                    break
                if isinstance(item, BaseException):
                    raise item
                if isinstance(item, tuple):  # ("finish", reason)
                    finish = item[1] or "stop"
                    continue
                parts.append(item)
                yield item
        finally:
            stop.set()  # a consumer that stops early (barge-in) ends the generation at the next token
        usage = self._last_usage
        yield CreateResult(
            finish_reason="length" if finish == "length" else "stop",
            content="".join(parts), usage=usage, cached=False,
        )

    def _generate(self, llama: Llama, chat: list[ChatCompletionRequestMessage], max_tokens: int,
                  stop: threading.Event, loop: asyncio.AbstractEventLoop, tokens: asyncio.Queue[_Item]) -> None:
        """Worker thread: run the model, pushing each text piece onto the event loop's queue."""

        def put(item: _Item) -> None:
            loop.call_soon_threadsafe(tokens.put_nowait, item)

        completion = 0
        try:
            with self._lock:
                stream = self._chunks(llama, chat, max_tokens)
                end = object()
                while (chunk := self.step(lambda: next(stream, end))) is not end:
                    if stop.is_set():
                        if isinstance(stream, Generator):
                            stream.close()  # its cleanup runs now, under the lock
                        break
                    choice = chunk["choices"][0]
                    text = choice["delta"].get("content")  # absent from an empty delta
                    if isinstance(text, str) and text:
                        completion += 1
                        put(text)
                    if choice["finish_reason"]:
                        put(("finish", choice["finish_reason"]))
                # Usage is shared by every call's worker thread: updated under the same lock.
                prompt = len(llama.tokenize(_render(chat).encode(), add_bos=False, special=True))
                self._last_usage = RequestUsage(prompt_tokens=prompt, completion_tokens=completion)
                self._usage = RequestUsage(
                    prompt_tokens=self._usage.prompt_tokens + prompt,
                    completion_tokens=self._usage.completion_tokens + completion,
                )
        except Exception as exc:  # handed to the consumer, which apologises to the caller
            put(exc)
        finally:
            put(None)

    def _chunks(self, llama: Llama, chat: list[ChatCompletionRequestMessage],
                max_tokens: int) -> Iterator[CreateChatCompletionStreamResponse]:
        """llama.cpp's streamed chat completion (its return type covers the unstreamed answer too)."""
        stream = llama.create_chat_completion(chat, stream=True, max_tokens=max_tokens,
                                              temperature=self._temperature, repeat_penalty=1.1)
        if not isinstance(stream, Iterator):
            raise TypeError("llama.cpp answered a streaming request with a whole completion")
        return stream

    async def close(self) -> None:
        self._llama = None

    def actual_usage(self) -> RequestUsage:
        return self._last_usage

    def total_usage(self) -> RequestUsage:
        return self._usage

    def count_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = ()) -> int:
        text = _render(to_chat_messages(messages))
        if self._llama is None:
            return len(text) // 4
        return len(self._llama.tokenize(text.encode(), add_bos=False, special=True))

    def remaining_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = ()) -> int:
        return self._context_tokens - self.count_tokens(messages)

    @property
    def capabilities(self) -> ModelCapabilities:
        return ModelCapabilities(vision=False, function_calling=False, json_output=False)

    @property
    def model_info(self) -> ModelInfo:
        return ModelInfo(vision=False, function_calling=False, json_output=False, family="unknown",
                         structured_output=False)


@contextlib.contextmanager
def _model_defaults(extra_buffers: bool) -> Iterator[None]:
    """Load with llama.cpp's extra CPU buffer types (weight repacking, AMX) on or off.

    `Llama` has no argument for `use_extra_bufts`, so its model-parameter defaults are wrapped while it loads (once,
    at start, on one thread). Off by default: with a native build, llama.cpp's AMX kernels crashed in decode on an
    Intel Xeon with AMX; the bundled Q4_1 model is not repacked on other CPUs, so it costs it nothing."""
    import llama_cpp.llama_cpp as lib

    original = lib.llama_model_default_params

    def params() -> lib.llama_model_params:
        p = original()
        if hasattr(p, "use_extra_bufts"):
            p.use_extra_bufts = extra_buffers
        return p

    lib.llama_model_default_params = params
    try:
        yield
    finally:
        lib.llama_model_default_params = original


def _render(chat: Sequence[ChatCompletionRequestMessage]) -> str:
    return "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in chat)
