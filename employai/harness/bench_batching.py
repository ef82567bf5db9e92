"""`employai bench --batching`: does batching Whisper pay on this machine, for turns of several calls at once?

Telephone turns (the human recordings of shared/eval/speech through 8 kHz G.711) are transcribed the way the bot
does it (one turn at a time, the 12 s window, `stt.cpu_threads` threads) and as one CTranslate2 batch of 2 or 4
turns (encoder and decoder together), on the same model and threads. Reported: the time until the last turn of
the group has its transcript, and per turn, p50 / p95 over the groups. Batching pays only if the batch finishes
before the one-at-a-time turns would, on average: a turn otherwise waits for the whole batch. The model's reply
is not batched in-process (llama.cpp's one context serves one sequence at a time; `llama_cpp.server` serves one
request at a time too). A benchmark: prints figures, checks nothing.
"""

from __future__ import annotations

import csv
import statistics
import time
from pathlib import Path

import numpy as np

from employai.harness.eval_hearing import telephone
from employai.runtime.engines import load_transcriber
from employai.runtime.progress import progress
from sip_config import Config
from speech.pcm import RATE, read_wav, to_float32


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _batch(transcriber, audios: list[np.ndarray]) -> list[str]:
    """One CTranslate2 batch: the turns' features encoded together, then decoded together (greedy)."""
    import ctranslate2

    model, tokenizer = transcriber._model, transcriber._tokenizer
    frames = transcriber._options.window_s * 100
    features = []
    for audio in audios:
        padded = np.zeros(frames * 160, dtype=np.float32)
        padded[: min(audio.size, padded.size)] = audio[: padded.size]
        features.append(model.feature_extractor(padded)[:, :frames])
    encoded = model.model.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(np.stack(features))))
    prefix = list(transcriber._prompts[""].prefix)
    results = model.model.generate(encoded, [prefix] * len(audios), beam_size=1, max_length=len(prefix) + 120,
                                   suppress_blank=True, suppress_tokens=[-1])
    return [tokenizer.decode([t for t in r.sequences_ids[0] if t < tokenizer.eot]).strip() for r in results]


def run_bench_batching(config: Config, eval_dir: Path) -> int:
    rows = list(csv.DictReader(open(eval_dir / "manifest.tsv", encoding="utf-8"), delimiter="\t"))
    turns = [telephone(read_wav(eval_dir / r["filename"]), "ulaw" if i % 2 else "alaw").tobytes()
             for i, r in enumerate(rows)]
    transcriber = load_transcriber(config)
    transcriber.transcribe(bytes(RATE * 2))  # warm up
    print(f"Whisper {config.stt.model}, {config.stt.cpu_threads} threads, {len(turns)} telephone turns")
    for size in (2, 4):
        groups = [turns[i:i + size] for i in range(0, len(turns) - size + 1, size)]
        one_by_one, batched = [], []
        for group in progress(groups, f"{size} turns at once", unit="group"):
            began = time.perf_counter()
            for pcm in group:
                transcriber.transcribe(pcm)
            one_by_one.append(time.perf_counter() - began)
            audios = [np.concatenate([to_float32(pcm), np.zeros(RATE // 5, dtype=np.float32)]) for pcm in group]
            began = time.perf_counter()
            _batch(transcriber, audios)
            batched.append(time.perf_counter() - began)
        for name, values in (("one at a time", one_by_one), ("one batch", batched)):
            ms = [v * 1000 for v in values]
            print(f"  {size} turns at once, {name:<13}: all transcribed after p50 {statistics.median(ms):5.0f} ms, "
                  f"p95 {_percentile(ms, 0.95):5.0f} ms ({len(ms)} groups)")
    return 0
