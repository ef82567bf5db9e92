"""`employai eval hearing`: does Whisper hear the business's own words over a telephone line, with and without
the vocabulary prompt (employai/runtime/vocabulary.py)?

Sentences a caller to the business would say, each marked with its business words ("Is that [Acme Plumbing]?"),
are spoken by flite voices (slt, rms, awb), sent through the telephone path simulated in NumPy (16 kHz -> 8 kHz,
G.711 mu-law or A-law encode and decode, -> 16 kHz, as a PCMU/PCMA call carries them) and transcribed by the
configured Whisper twice: unbiased and biased (the same audio, alternately). Reported per business and voice:
domain-word accuracy (the fraction of the marked words found in the transcript, both normalised as for WER),
WER, and transcription time p50/p95.
Businesses: the embedded defaults (Acme Plumbing, given a small directory: the defaults have none) with
hand-written sentences, or the configured business with sentences made from its config; the dental clinic of
tests/data/dental.toml when present; and, as a control, recordings of people saying other things
(../shared/eval/speech) under the first business's prompt: what biasing costs on ordinary speech.
Then spoken phone numbers, heard with the business's prompt and with the digits prompt the bot uses after asking
for a number (employai/harness/hearing_numbers.py); answers to "when?" with the days-and-times prompt
(hearing_times.py); and addresses with the street-names prompt (hearing_addresses.py). Per-clip results go to
<workdir>/hearing/hearing.tsv.
A measurement, not a test: it prints figures, checks nothing.
Single-threaded; the transcription runs on the configured number of CPU threads.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import re
import subprocess
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from employai.harness.hearing_addresses import hear_addresses
from employai.harness.hearing_doubt import print_doubt
from employai.harness.hearing_names import hear_names
from employai.harness.hearing_numbers import hear_numbers
from employai.harness.hearing_sentences import DEFAULT_SENTENCES, DENTAL_SENTENCES, EVAL_DIRECTORY
from employai.harness.hearing_times import hear_times
from employai.harness.wer import normalise, wer
from employai.runtime.cpu import cpu_model
from employai.runtime.progress import progress
from employai.runtime.vocabulary import business_vocabulary
from sip_config import Config, load_config, resolve_models
from sip_config.schema import ProfileSettings
from speech.pcm import RATE, read_wav, resample
from speech.stt import ADDRESS_PROMPT, DIGITS_PROMPT, NAME_PROMPT, WHEN_PROMPT, WhisperOptions, WhisperTranscriber

REPO = Path(__file__).resolve().parents[2]
DENTAL = REPO / "tests" / "data" / "dental.toml"
HUMAN_SPEECH = REPO.parent / "shared" / "eval" / "speech"  # manifest.tsv: recordings of people and their words
VOICES = ("slt", "rms", "awb")
LAWS = ("ulaw", "alaw")

@dataclass(frozen=True)
class Clip:
    profile: str
    text: str  # the reference, brackets removed
    domain: tuple[str, ...]  # the marked business words, normalised
    voice: str
    law: str
    recording: str = ""  # a recording of a person, instead of flite saying `text`


@dataclass(frozen=True)
class Heard:
    clip: Clip
    biased: bool
    text: str
    seconds: float
    logprob: float = 0.0  # Whisper's mean log-probability per token

    @property
    def reference(self) -> str:
        return self.clip.text


# ---- G.711, as ITU-T G.711's reference coder (the same as audioop's lin2ulaw/lin2alaw), by lookup table ----

def _ulaw_code(sample: int) -> int:
    x = sample >> 2
    mask = 0x7F if x < 0 else 0xFF
    x = min(-x if x < 0 else x, 8159) + 33
    seg = next((i for i, end in enumerate((0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF)) if x <= end), 8)
    return (0x7F if seg >= 8 else (seg << 4) | ((x >> (seg + 1)) & 0xF)) ^ mask


def _alaw_code(sample: int) -> int:
    x = sample >> 3
    mask, x = (0xD5, x) if x >= 0 else (0x55, -x - 1)
    seg = next((i for i, end in enumerate((0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)) if x <= end), 8)
    if seg >= 8:
        return 0x7F ^ mask
    return ((seg << 4) | ((x >> 1 if seg < 2 else x >> seg) & 0xF)) ^ mask


def _ulaw_linear(code: int) -> int:
    u = ~code & 0xFF
    t = (((u & 0xF) << 3) + 0x84) << ((u & 0x70) >> 4)
    return 0x84 - t if u & 0x80 else t - 0x84


def _alaw_linear(code: int) -> int:
    a = code ^ 0x55
    seg, t = (a & 0x70) >> 4, (a & 0xF) << 4
    t = t + 8 if seg == 0 else (t + 0x108) << max(seg - 1, 0)
    return t if a & 0x80 else -t


_ALL = range(-32768, 32768)
ENCODE = {"ulaw": np.array([_ulaw_code(s) for s in _ALL], dtype=np.uint8),
          "alaw": np.array([_alaw_code(s) for s in _ALL], dtype=np.uint8)}
DECODE = {"ulaw": np.array([_ulaw_linear(c) for c in range(256)], dtype=np.int16),
          "alaw": np.array([_alaw_linear(c) for c in range(256)], dtype=np.int16)}


def g711_encode(pcm: np.ndarray, law: str) -> np.ndarray:
    return ENCODE[law][pcm.astype(np.int32) + 32768]


def g711_decode(codes: np.ndarray, law: str) -> np.ndarray:
    return DECODE[law][codes]


def telephone(pcm16k: np.ndarray, law: str) -> np.ndarray:
    """16 kHz int16 speech as the bot hears it from a G.711 call: narrowband, companded, back to 16 kHz."""
    narrow = np.clip(resample(pcm16k.astype(np.float32), RATE, 8000), -32768, 32767).astype(np.int16)
    carried = g711_decode(g711_encode(narrow, law), law)
    return np.clip(resample(carried.astype(np.float32), 8000, RATE), -32768, 32767).astype(np.int16)


def flite(text: str, voice: str, folder: Path) -> np.ndarray:
    """`text` spoken by a flite voice, 16 kHz int16 (cached in `folder`)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{voice}-{hashlib.sha1(text.encode()).hexdigest()[:12]}.wav"
    if not path.exists():
        subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(path)], check=True, capture_output=True)
    return read_wav(path)


# ---- the sentences ----

def marked(sentence: str) -> tuple[str, tuple[str, ...]]:
    """("Is that [Acme Plumbing]?") -> ("Is that Acme Plumbing?", ("acme", "plumbing")); a compound is one word
    ("[call-out]" -> "callout"), heard whether written "call-out", "call out" or "callout"."""
    words = tuple(w for part in re.findall(r"\[([^\]]+)\]", sentence) for w in normalise(part.replace("-", "")))
    return sentence.replace("[", "").replace("]", ""), words


def default_profile(config: Config) -> Config:
    """The config with the eval's directory when it has none of its own."""
    if config.transfer.directory:
        return config
    return dataclasses.replace(config, transfer=dataclasses.replace(config.transfer, directory=EVAL_DIRECTORY))


def _bracketed(text: str) -> str:
    """`text` with its distinctive phrases marked: "book a visit" -> "[book] a [visit]"."""
    from employai.runtime.vocabulary import distinctive_phrases

    for phrase in distinctive_phrases(text):
        text = re.sub(rf"(?<!\[)\b{re.escape(phrase)}\b", f"[{phrase}]", text, count=1)
    return text


def profile_sentences(config: Config) -> list[str]:
    """Marked sentences made from a business's own config: its company, directory, forms and facts."""
    from employai.runtime.vocabulary import distinctive_phrases

    p = config.profile
    out = [f"Hello, is that [{p.company}]?", f"Hi [{p.name}], I'm calling [{p.company}] about an appointment.",
           f"Is this [{p.company}] or have I got the wrong number?", "My [booking reference] is four four seven one.",
           "Can you remind me of my [booking reference]?", "Call me back on my [callback number], please."]
    asks = ("Can you put me through to [{}], please?", "Could I speak to [{}]?", "I'd like to talk to [{}].",
            "Is [{}] available today?")
    departments: dict[str, None] = {}
    for i, entry in enumerate(config.transfer.directory):
        out.append(asks[i % len(asks)].format(entry.name))
        if entry.department and entry.department.lower() != entry.name.lower():
            departments[entry.department] = None
    out += [f"Can I talk to someone in [{d}]?" for d in departments]
    out += [f"Hello, I'd like to {_bracketed(form.name)}, please." for form in getattr(config, "forms", ()) or ()]
    questions = ("I've got a question about [{}].", "Can you tell me about [{}]?", "I'm calling about [{}].")
    phrases = dict.fromkeys(ph for fact in p.facts for ph in distinctive_phrases(fact))
    out += [questions[i % len(questions)].format(ph) for i, ph in enumerate(phrases)]
    return out + ["Thank you, goodbye.", "Sorry, could you say that again?"]


def clips(name: str, sentences: Sequence[str], voices: Sequence[str]) -> list[Clip]:
    """Every sentence in each voice, the codec alternating so both laws meet every voice."""
    out = []
    for i, sentence in enumerate(sentences):
        text, domain = marked(sentence)
        for j, voice in enumerate(voices):
            out.append(Clip(name, text, domain, voice, LAWS[(i + j) % len(LAWS)]))
    return out


# ---- measuring ----

def domain_hits(clip: Clip, hypothesis: str) -> int:
    """How many of the clip's business words are in the transcript (each occurrence counted once)."""
    words = normalise(hypothesis)
    heard = Counter(words + [a + b for a, b in zip(words, words[1:], strict=False)])
    hits = 0
    for word in clip.domain:
        if heard[word] > 0:
            heard[word] -= 1
            hits += 1
    return hits


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(results: Sequence[Heard]) -> dict[str, float]:
    words = sum(len(r.clip.domain) for r in results)
    hits = sum(domain_hits(r.clip, r.text) for r in results)
    times = [r.seconds * 1000 for r in results]
    return {"clips": len(results), "domain": hits / words if words else 0.0,
            "wer": wer([r.clip.text for r in results], [r.text for r in results]),
            "p50": _percentile(times, 0.5), "p95": _percentile(times, 0.95)}


def transcriber(config: Config, prompt: str, digits_prompt: str = "", when_prompt: str = "",
                address_prompt: str = "", name_prompt: str = "") -> WhisperTranscriber:
    s = config.stt
    options = WhisperOptions(compute_type=s.compute_type, cpu_threads=s.cpu_threads, beam_size=s.beam_size,
                             language=s.language, window_s=s.window_s, prompt=prompt, digits_prompt=digits_prompt,
                             when_prompt=when_prompt, address_prompt=address_prompt, name_prompt=name_prompt)
    return WhisperTranscriber(resolve_models(config).whisper_dir, options).load()


def hear(config: Config, items: Sequence[Clip], audio_dir: Path) -> list[Heard]:
    """Each clip through the telephone path, transcribed unbiased and biased (alternating, so both meet the same
    machine load)."""
    ears = {False: transcriber(config, ""), True: transcriber(config, business_vocabulary(config))}
    for ear in ears.values():
        ear.transcribe(bytes(RATE * 2))  # warm up
    out = []
    for clip in progress(items, "hearing", unit="clip"):
        speech = read_wav(clip.recording) if clip.recording else flite(clip.text, clip.voice, audio_dir)
        pcm = telephone(speech, clip.law).tobytes()
        for biased, ear in ears.items():
            started = time.perf_counter()
            heard = ear.transcribe(pcm)
            out.append(Heard(clip, biased, heard.text, time.perf_counter() - started, heard.logprob))
    return out


def _prompt_tokens(config: Config, prompt: str) -> int:
    from faster_whisper.tokenizer import Tokenizer
    from tokenizers import Tokenizer as HfTokenizer

    hf = HfTokenizer.from_file(str(resolve_models(config).whisper_dir / "tokenizer.json"))
    return len(Tokenizer(hf, False, task="transcribe", language="en").encode(" " + prompt)) if prompt else 0


def _write_tsv(path: Path, results: Sequence[Heard]) -> None:
    rows = ["profile\tvoice\tcodec\tbiased\tms\tdomain_words\tdomain_hits\treference\theard"]
    rows += [f"{r.clip.profile}\t{r.clip.voice}\t{r.clip.law}\t{int(r.biased)}\t{r.seconds * 1000:.0f}\t"
             f"{len(r.clip.domain)}\t{domain_hits(r.clip, r.text)}\t{r.clip.text}\t{r.text}" for r in results]
    path.write_text("\n".join(rows) + "\n")


def _print_table(results: Sequence[Heard], profiles: Sequence[str]) -> None:
    print(f"{'profile':<9} {'voice':<6} {'bias':<5} {'clips':>5} {'domain words':>13} {'WER':>7} "
          f"{'p50 ms':>7} {'p95 ms':>7}")
    for name in profiles:
        mine = [r for r in results if r.clip.profile == name]
        voices = list(dict.fromkeys(r.clip.voice for r in mine))
        for voice in voices + (["all"] if len(voices) > 1 else []):
            for biased in (False, True):
                rows = [r for r in mine if r.biased == biased and voice in (r.clip.voice, "all")]
                s = summary(rows)
                domain = f"{s['domain']:>12.1%}" if any(r.clip.domain for r in rows) else f"{'-':>12} "
                print(f"{name:<9} {voice:<6} {'on' if biased else 'off':<5} {s['clips']:>5.0f} "
                      f"{domain} {s['wer']:>7.1%} {s['p50']:>7.0f} {s['p95']:>7.0f}")


def human_clips(quick: bool) -> list[Clip]:
    """The recordings of people in HUMAN_SPEECH (ordinary speech, none of the business's words): what biasing
    costs when a caller says something else."""
    manifest = HUMAN_SPEECH / "manifest.tsv"
    if not manifest.exists():
        return []
    rows = list(csv.DictReader(manifest.open(), delimiter="\t"))
    rows = rows[:: max(1, len(rows) // 8)][:8] if quick else rows
    return [Clip("people", r["transcript"], (), "human", LAWS[i % len(LAWS)], str(HUMAN_SPEECH / r["filename"]))
            for i, r in enumerate(rows)]


def _first(sentences: Sequence[str], quick: bool) -> list[str]:
    """All the sentences, or 8 spread over them."""
    return list(sentences[:: max(1, len(sentences) // 8)][:8] if quick else sentences)


def _profiles(config: Config, quick: bool) -> list[tuple[str, Config, list[str]]]:
    """The embedded defaults' business with hand-written sentences, or the configured business with sentences
    made from its config; and the dental clinic, when its test config is there."""
    if config.profile == ProfileSettings():
        out = [("default", default_profile(config), _first(DEFAULT_SENTENCES, quick))]
    else:
        out = [("yours", config, _first(profile_sentences(config), quick))]
    if DENTAL.exists():
        dental = dataclasses.replace(load_config(str(DENTAL)), stt=config.stt)  # the same ears for both
        if dental.profile != config.profile:
            out.append(("dental", dental, _first(DENTAL_SENTENCES, quick)))
    return out


def run_eval_hearing(config: Config, args: Any) -> int:
    workdir = Path(getattr(args, "workdir", "eval-out")) / "hearing"
    quick = bool(getattr(args, "quick", False))
    workdir.mkdir(parents=True, exist_ok=True)
    s = config.stt
    print(f"Hearing the business's words over G.711 (simulated: 8 kHz, mu-law/A-law), Whisper {s.model} "
          f"({resolve_models(config).whisper_dir}; {s.compute_type}, {s.cpu_threads} threads, window {s.window_s} s, "
          f"beam {s.beam_size}), flite voices {', '.join(VOICES)}, on {cpu_model()}")
    results: list[Heard] = []
    names = []
    for name, profile, sentences in _profiles(config, quick):
        prompt = business_vocabulary(profile)
        print(f"{name}: {len(sentences)} sentences; prompt ({_prompt_tokens(config, prompt)} tokens): {prompt}")
        results += hear(profile, clips(name, sentences, VOICES), workdir / "audio")
        names.append(name)
        if name != "dental" and (people := human_clips(quick)):
            print(f"people: {len(people)} recordings of people saying other things ({HUMAN_SPEECH}), with the "
                  f"{name} prompt: what biasing costs on ordinary speech")
            results += hear(profile, people, workdir / "audio")
            names.append("people")
    _write_tsv(workdir / "hearing.tsv", results)
    print()
    _print_table(results, names)
    print_doubt([r for r in results if r.biased and r.clip.profile != "people"], s.unsure_logprob)
    first = _profiles(config, quick)[0][1]
    business = business_vocabulary(first)
    hear_numbers(first, {"business prompt": transcriber(first, business),
                         "digits prompt": transcriber(first, business, DIGITS_PROMPT)},
                 VOICES[:2] if quick else VOICES, LAWS[:1] if quick else LAWS, workdir / "audio")
    hear_times(first, {"business prompt": transcriber(first, business),
                       "when prompt": transcriber(first, business, when_prompt=WHEN_PROMPT)},
               VOICES[:2] if quick else VOICES, LAWS[:1] if quick else LAWS, workdir / "audio")
    hear_addresses(first, {"business prompt": transcriber(first, business),
                           "address prompt": transcriber(first, business, address_prompt=ADDRESS_PROMPT)},
                   VOICES[:2] if quick else VOICES, LAWS[:1] if quick else LAWS, workdir / "audio")
    hear_names(first, {"business prompt": transcriber(first, business),
                       "names prompt": transcriber(first, business, name_prompt=NAME_PROMPT)},
               VOICES[:2] if quick else VOICES, LAWS[:1] if quick else LAWS, workdir / "audio")
    print(f"\nPer-clip transcripts: {workdir / 'hearing.tsv'}")
    return 0
