"""Speech to text. `Transcriber` is the interface; `WhisperTranscriber` is the faster-whisper adapter.

`transcribe` is blocking and CPU-heavy: callers run it in a worker thread, never on the event loop or the media
callback. faster-whisper's segment generator is consumed here, inside that thread. One transcriber serves every
call: its state is set in `load()` and only read afterwards.

Biasing: `WhisperOptions.prompt` (the business's own words, see employai/runtime/vocabulary.py) is given to
Whisper as the text said before the turn, the way faster-whisper gives `initial_prompt`, so the company's name and
the words of its trade are expected. A prompted Whisper sometimes copies the prompt when it hears no speech; such
copies are dropped (`_heard`).

Expectation: when the bot has just asked for a number (a callback number, a reference, a number read back for a
yes), the turn is transcribed with `expect="digits"`: the previous text is then a couple of numbers said digit by
digit (`DIGITS_PROMPT`) instead of the business's words. tiny.en on 8 kHz otherwise writes a spoken number as a
formatted figure and drops a repeated digit ("seven seven eight eight" as "778"); `employai eval hearing` measures
both (spoken numbers over G.711, three flite voices, beam 5: 56 % exactly right with the business prompt, 76 %
with this one). This is what Dialogflow's per-turn speech contexts and Twilio's `<Gather hints>` do. Likewise,
when the bot has just asked when a visit would suit, the turn is transcribed with `expect="when"`: the previous
text is days and times of day (`WHEN_PROMPT`). Without it tiny.en on 8 kHz writes "next Tuesday" as "next to the"
and "Thursday around eleven" as "search zero-round 11" (`employai eval hearing`, answers to "when?" over G.711,
three flite voices, beam 5: 72 % heard with their days and times right with the business prompt, 89 % with this
one). And when the bot has just asked for an address, with `expect="address"`: the previous text is a few
addresses in the commonest words of street names (`ADDRESS_PROMPT`), so that "Kingsley Road" is not "Bingley
Road" and "Birch Close" not "birch glows" (`employai eval hearing`, 15 addresses over G.711, three flite voices,
beam 5: 28 % heard with their number and words right with the business prompt, 52 % with this one, none lost).
And when the bot has just asked for the caller's name, with `expect="name"`: the previous text is people's names
from many places (`NAME_PROMPT`), so that a name is written as one ("Chen Wei", not "Gen-way"; "Priya Patel", not
"pretty a Patel"). None of the 25 callers' names the eval says shares a word with the prompt (`employai eval
hearing`, over G.711, three flite voices, beam 5: 42 % heard with every word of the name right with the business
prompt, 53 % with this one, 3 of 150 lost). A turn made only of the prompt's words, when Whisper doubts there was
speech, is taken for the prompt, not for a caller called James Smith: a made-up name would be stored. A message's
recipient is heard with the business's prompt, which has the staff's names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .pcm import RATE, to_float32

# Whisper's stock hallucinations on noise or silence; dropped when the model itself doubts there was speech.
_HALLUCINATIONS = {"", "you", "thank you", "thanks for watching", "bye", "okay"}
# Whisper's context is 448 tokens; as in faster-whisper, the previous text (the prompt) gets at most half of it.
MAX_PROMPT_TOKENS = 223
_DOUBT = 0.6  # no_speech_prob above which a stock phrase is taken for a hallucination
# A prompt makes Whisper surer of speech (no_speech_prob 0.00-0.26 on speech over G.711, human and synthetic, in
# tests and `employai eval hearing`) and makes it talk over noise ("I'm, I'm, I'm," at 0.50-0.98): when prompted,
# a turn above this is taken for noise.
_PROMPT_DOUBT = 0.45
_COPY_DOUBT = 0.2  # ... and a turn made only of the prompt's words, above this, for a copy of the prompt
_NUMBER_WORDS = frozenset("oh zero one two three four five six seven eight nine ten".split())
_LOOP_WORDS = 4  # a turn that says four words again, and nothing new after them, is looping
_COPY_RUN = 6  # this many prompt words in the prompt's order is a recital of the prompt, not a caller's turn


# Whisper's mean log-probability per token below which a transcript is taken for a guess (a caller heard badly, not
# a caller saying something odd). Measured with tiny.en and the business prompt over G.711, four flite voices and
# the two profiles' eval sentences (employai/harness/hearing_sentences.py), 360 transcripts: with beam 5, of 187
# with every word right, 4 score below it, and of 61 with 30 % or more of the words wrong, 18; greedy, 4 of 175 and
# 28 of 72 (beam search hears more of the doubtful ones right). Another model scores its words its own way:
# `stt.unsure_logprob` gives its threshold, as `employai eval hearing` measures it (Whisper base: -0.45).
UNSURE_LOGPROB = -0.5


@dataclass(frozen=True)
class Transcript:
    text: str
    no_speech_prob: float = 0.0
    logprob: float = 0.0  # the model's mean log-probability per token (0: sure, or not measured)
    unsure_below: float = UNSURE_LOGPROB  # the model's own threshold for `unsure`

    @property
    def is_empty(self) -> bool:
        return not self.text.strip()

    @property
    def unsure(self) -> bool:
        """The recogniser itself doubts these words: worth asking the caller to say it again, when nothing the
        bot understands was heard in them."""
        return bool(self.text.strip()) and self.logprob < self.unsure_below


# What the caller is expected to say: anything, a number, a day and time, an address.
EXPECTATIONS = ("", "digits", "when", "address", "name")
# Two made-up numbers said digit by digit, in the words a caller uses for them.
DIGITS_PROMPT = "Two one three, oh four oh, nine nine six six. Four four seven, one one two, zero zero three eight."
# Days and times of day, as callers say when a visit would suit.
WHEN_PROMPT = "Monday morning. Tuesday afternoon, or Wednesday. Thursday evening. Friday at ten. Tomorrow, next week," \
    " about three o'clock."
# Street addresses, in the most common words of English street names and the kinds of street.
ADDRESS_PROMPT = "Twelve High Street. Four Church Road, twenty seven Park Lane, nine Victoria Avenue, Oak Close, " \
    "Maple Drive, Cedar Grove, Elm Way, Manor Road, Green Crescent, Mill Terrace, Kings Gardens, Pine Court, Lake View."
# People's names as callers give them, common ones from many places (none of them a name the evals or tests say).
NAME_PROMPT = "My name is James Smith. It's Maria Garcia. Muhammad Ali, Emma Brown, Hao Liu, Anna Kowalska, " \
    "Sean Murphy, Zainab Begum, Lucas Silva, Kofi Boateng, Rahul Gupta, Yuki Tanaka, Ali Hassan, Jessica Taylor, " \
    "David Lee."


class Transcriber(Protocol):
    def transcribe(self, pcm: bytes, expect: str = "") -> Transcript:
        """16 kHz mono int16 PCM in, text out. `expect`: one of EXPECTATIONS, what the bot has just asked for."""
        ...


class PromptedTranscriber(Transcriber, Protocol):
    """A transcriber whose business prompt can change while it runs (the knowledge base changed)."""

    @property
    def prompt(self) -> str:
        """What any turn is transcribed with, unless something else is expected."""
        ...

    def set_prompt(self, prompt: str) -> None:
        """From now on, this business prompt (any thread; a transcription already running keeps its own)."""
        ...


@dataclass(frozen=True)
class WhisperOptions:
    compute_type: str = "int8"
    cpu_threads: int = 2
    beam_size: int = 5
    language: str = "en"
    window_s: int = 12  # encoder window for short utterances; 30 is Whisper's own (slower, a little more accurate)
    prompt: str = ""  # words the caller is likely to say, given as the previous text ("" : no biasing)
    digits_prompt: str = ""  # the previous text when a number is expected ("": the prompt above, as for any turn)
    when_prompt: str = ""  # the previous text when a day and time are expected ("": the prompt above)
    address_prompt: str = ""  # the previous text when an address is expected ("": the prompt above)
    name_prompt: str = ""  # the previous text when the caller's name is expected ("": the prompt above)
    unsure_logprob: float = UNSURE_LOGPROB  # below this, a turn is a guess (`Transcript.unsure`)


def _max_tokens(seconds: float) -> int:
    """A bound on the words in `seconds` of speech: stops a short window looping on a phrase."""
    return min(224, int(seconds * 7) + 12)


def prompt_tokens(tokenizer: Any, prompt: str) -> list[int]:
    """The previous-text part of Whisper's decoder prompt, as faster-whisper's `get_prompt` builds it for an
    `initial_prompt`: <|startofprev|> and the text's last MAX_PROMPT_TOKENS tokens. Empty for no prompt."""
    if not prompt.strip():
        return []
    return [tokenizer.sot_prev] + tokenizer.encode(" " + prompt.strip())[-MAX_PROMPT_TOKENS:]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def _longest_common_run(a: list[str], b: list[str]) -> int:
    """The length of the longest run of words found in both, in the same order."""
    best, row = 0, [0] * (len(b) + 1)
    for x in a:
        new = [0] * (len(b) + 1)
        for j, y in enumerate(b, 1):
            if x == y:
                new[j] = row[j - 1] + 1
                best = max(best, new[j])
        row = new
    return best


def without_repeats(text: str) -> str:
    """`text` with a loop cut: a prompted Whisper sometimes says a turn again and again until its token bound
    ("Hello. Can you fix it? Can you fix it? Can you f"). From the first point where four words said before
    come again and nothing new follows, the rest is dropped. Numbers are left alone ("5 5 5 5 5 5")."""
    spans = list(re.finditer(r"[A-Za-z0-9']+", text))
    words = [m.group(0).lower() for m in spans]
    for period in (1, 2, 3):  # a short turn said three times over ("Helen Carter. Helen Carter. Helen Carter.")
        times, rest = divmod(len(words), period)
        if times >= 3 and not rest and words == words[:period] * times \
                and not all(w.isdigit() or w in _NUMBER_WORDS for w in words[:period]):
            return text[: spans[period - 1].end()].strip()
    before: set[tuple[str, ...]] = set()
    for cut in range(_LOOP_WORDS, len(words) - _LOOP_WORDS + 1):
        before.add(tuple(words[cut - _LOOP_WORDS : cut]))
        again = tuple(words[cut : cut + _LOOP_WORDS])
        if again in before and not all(w.isdigit() or w in _NUMBER_WORDS for w in again) \
                and set(words[cut:]) <= set(words[:cut]):
            return text[: spans[cut].start()].strip()
    return text


def stutters(text: str) -> bool:
    """One or two words said three or more times over and nothing else ("I'm, I'm, I'm,"): Whisper's babble on
    noise when it was prompted to expect speech. Numbers are not babble."""
    words = [w for w in _words(text) if not (w.isdigit() or w in _NUMBER_WORDS)]
    return len(words) >= 3 and len(set(words)) <= 2


_DIGIT_OF = {"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
             "seven": "7", "eight": "8", "nine": "9"}


def digits_said(text: str) -> str:
    """The digits in `text`, figures and digit words alike, in order ("Two one three, oh 4" -> "21304")."""
    return "".join(_DIGIT_OF.get(w, w if w.isdigit() else "") for w in re.findall(r"[a-z]+|\d", text.lower()))


def copies_numbers(text: str, prompt: str) -> bool:
    """Whether `text` recites one of the numbers of a digits prompt (a caller's number is never one of them)."""
    said = digits_said(text)
    return any(len(example) >= 7 and example in said
               for example in (digits_said(part) for part in re.split(r"[.]", prompt)))


def copies_prompt(text: str, prompt: str, no_speech_prob: float, answers: bool = False) -> bool:
    """Whether `text` is Whisper reciting its prompt rather than hearing a caller: a run of the prompt's words in
    its order (a caller names a few of the business's words, never a list of them), or a turn made only of prompt
    words when the model doubts there was speech at all. `answers`: the prompt is made of answers to the question
    just asked (days and times, addresses), which a caller may well give word for word ("Twelve High Street"):
    only the run counts."""
    said, given = _words(text), _words(prompt)
    if not said or not given:
        return False
    if _longest_common_run(said, given) >= _COPY_RUN and len(said) <= len(given) + 2:
        return True
    return not answers and no_speech_prob > _COPY_DOUBT and set(said) <= set(given)


@dataclass(frozen=True)
class _Prompt:
    """What one expectation's turns are transcribed with."""

    text: str  # Whisper's previous text
    prefix: tuple[int, ...]  # the decoder's start: [previous text] + start of transcript
    answers: bool  # the text is made of answers to the question asked (days and times, addresses)


class WhisperTranscriber:
    """Threads: `transcribe` from any number of worker threads at once (CTranslate2 runs them), `set_prompt` from
    any thread: the prompts are replaced whole, and a transcription keeps those it started with."""

    def __init__(self, model_dir: Path, options: WhisperOptions):
        self._model_dir = model_dir
        self._options = options
        self._model: Any = None
        self._tokenizer: Any = None
        self._prompts: dict[str, _Prompt] = {}  # per expectation
        self._eot = 0

    def load(self) -> WhisperTranscriber:
        from faster_whisper import WhisperModel
        from faster_whisper.tokenizer import Tokenizer

        self._model = WhisperModel(
            str(self._model_dir),
            device="cpu",
            compute_type=self._options.compute_type,
            cpu_threads=self._options.cpu_threads,
            local_files_only=True,
        )
        self._tokenizer = Tokenizer(self._model.hf_tokenizer, self._model.model.is_multilingual, task="transcribe",
                                    language=self._options.language or "en")
        self._eot = self._tokenizer.eot
        self.set_prompt(self._options.prompt)
        return self

    @property
    def prompt(self) -> str:
        """The business prompt: what any turn is transcribed with, unless something else is expected."""
        return self._prompts[""].text

    def set_prompt(self, prompt: str) -> None:
        """Transcribe from now on with this business prompt (the expectations' own prompts stay)."""
        if self._tokenizer is None:
            raise RuntimeError("WhisperTranscriber.load() was not called")
        start = list(self._tokenizer.sot_sequence) + [self._tokenizer.no_timestamps]
        special = {"digits": self._options.digits_prompt, "when": self._options.when_prompt,
                   "address": self._options.address_prompt, "name": self._options.name_prompt}
        prompts = {}
        for expect in EXPECTATIONS:
            own = special.get(expect, "").strip()
            text = own or prompt
            prompts[expect] = _Prompt(text, tuple(prompt_tokens(self._tokenizer, text) + start),
                                      bool(own) and expect in ("when", "address"))
        self._prompts = prompts

    def transcribe(self, pcm: bytes, expect: str = "") -> Transcript:
        if expect not in EXPECTATIONS:
            raise ValueError(f"unknown expectation {expect!r}")
        if self._model is None:
            raise RuntimeError("WhisperTranscriber.load() was not called")
        audio = to_float32(pcm)
        if audio.size < RATE // 10:
            return Transcript("")
        # A little padding helps Whisper end the last word.
        audio = np.concatenate([audio, np.zeros(RATE // 5, dtype=np.float32)])
        prompt = self._prompts[expect]
        if audio.size <= self._options.window_s * RATE and self._options.window_s < 30:
            return self._transcribe_window(audio, prompt, expect)
        return self._transcribe_long(audio, prompt, expect)

    def _transcribe_window(self, audio: np.ndarray, prompt: _Prompt, expect: str) -> Transcript:
        """One utterance through a short encoder window: the encoder's cost is its window, not the speech.

        faster-whisper always pads to 30 s; CTranslate2's Whisper encodes any window up to that, so a
        telephone turn of a few seconds is encoded several times faster here, with the same model.
        """
        import ctranslate2

        model, tokenizer = self._model, self._tokenizer
        frames = self._options.window_s * 100
        padded = np.zeros(frames * 160, dtype=np.float32)
        padded[: audio.size] = audio
        features = model.feature_extractor(padded)[:, :frames]
        encoded = model.model.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None])))
        # CTranslate2 counts the prompt in max_length: the bound on the turn's words comes on top of it.
        result = model.model.generate(
            encoded, [list(prompt.prefix)],
            beam_size=self._options.beam_size,
            max_length=len(prompt.prefix) + _max_tokens(audio.size / RATE),
            suppress_blank=True, suppress_tokens=[-1], return_no_speech_prob=True, return_scores=True,
        )[0]
        text = tokenizer.decode([t for t in result.sequences_ids[0] if t < self._eot]).strip()
        logprob = float(result.scores[0]) if result.scores else 0.0  # per token (length_penalty 1)
        return Transcript(self._heard(text, result.no_speech_prob, prompt, expect), result.no_speech_prob, logprob,
                          self._options.unsure_logprob)

    def _transcribe_long(self, audio: np.ndarray, prompt: _Prompt, expect: str) -> Transcript:
        segments, _info = self._model.transcribe(
            audio,
            language=self._options.language or None,
            beam_size=self._options.beam_size,
            condition_on_previous_text=False,
            initial_prompt=prompt.text.strip() or None,
            without_timestamps=True,
            vad_filter=False,
            temperature=0.0,
        )
        heard = [(self._heard(seg.text, seg.no_speech_prob, prompt, expect), seg.no_speech_prob, seg.avg_logprob)
                 for seg in segments]
        kept = [(text, no_speech, logprob) for text, no_speech, logprob in heard if text]  # the model ran here
        no_speech = max((p for _, p, _ in kept or heard), default=0.0)
        logprob = min((lp for _, _, lp in kept), default=0.0)
        return Transcript(" ".join(text for text, _, _ in kept).strip(), no_speech, logprob,
                          self._options.unsure_logprob)

    def _heard(self, text: str, no_speech: float, given: _Prompt, expect: str = "") -> str:
        """The text of a window or segment, or "" when it is taken for a hallucination on noise."""
        text = without_repeats(text.strip())
        if no_speech > _DOUBT and text.lower().strip(" .!?,") in _HALLUCINATIONS:
            return ""
        prompt = given.text
        if expect == "digits" and prompt.strip():  # digit words are what the caller is expected to say
            copied = copies_numbers(text, prompt)
            return "" if no_speech > _PROMPT_DOUBT or copied or no_speech > _COPY_DOUBT and stutters(text) else text
        # its own prompt of answers ("Twelve High Street" may be the caller's); a name made only of the prompt's,
        # when the model doubts there was speech, is the prompt (a made-up name would be stored and greeted by)
        if prompt.strip() and (no_speech > _PROMPT_DOUBT or copies_prompt(text, prompt, no_speech, given.answers)
                               or no_speech > _COPY_DOUBT and stutters(text)):
            return ""
        return text
