"""Hearing the business's words: the vocabulary prompt, its tokens, the guards against a prompted Whisper's
failures (reciting the prompt, looping, babbling on noise), the telephone path of `employai eval hearing`, and
the real Whisper hearing flite voices over G.711 with and without the prompt."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest

from brain.fields import spoken_digits
from employai.harness.eval_hearing import (
    Clip,
    default_profile,
    domain_hits,
    flite,
    g711_decode,
    g711_encode,
    marked,
    telephone,
    transcriber,
)
from employai.harness.hearing_doubt import calibrate, threshold
from employai.harness.wer import normalise
from employai.runtime import engines
from employai.runtime.vocabulary import MAX_WORDS, business_vocabulary, distinctive_phrases
from sip_config import load_config, resolve_models
from sip_config.schema import DirectoryEntry, FormSettings, SttSettings
from speech.pcm import RATE
from speech.stt import (
    ADDRESS_PROMPT,
    DIGITS_PROMPT,
    EXPECTATIONS,
    MAX_PROMPT_TOKENS,
    NAME_PROMPT,
    UNSURE_LOGPROB,
    WHEN_PROMPT,
    Transcript,
    copies_numbers,
    copies_prompt,
    digits_said,
    prompt_tokens,
    stutters,
    without_repeats,
)

from .peers import REPO

DENTAL = REPO / "tests" / "data" / "dental.toml"


@pytest.fixture(scope="module")
def tokenizer():
    from faster_whisper.tokenizer import Tokenizer
    from tokenizers import Tokenizer as HfTokenizer

    hf = HfTokenizer.from_file(str(resolve_models(load_config()).whisper_dir / "tokenizer.json"))
    return Tokenizer(hf, False, task="transcribe", language="en")


def _with(config, **stt):
    return dataclasses.replace(config, stt=dataclasses.replace(config.stt, **stt))


# ---- the vocabulary ----

@pytest.mark.unit
def test_the_default_vocabulary_names_the_business_and_its_trade():
    prompt = business_vocabulary(default_profile(load_config()))
    for words in ("Acme Plumbing", "Joe", "Sales", "Bob Smith", "Maria Lopez", "Booking reference", "Call-out",
                  "blocked drains", "water heaters", "Book a visit", "take a message"):
        assert words in prompt, (words, prompt)
    said = [w.lower().strip(".,") for w in prompt.split()]
    assert len(said) <= MAX_WORDS
    assert not {"the", "we", "and", "i'd", "what's", "eighty", "monday", "someone"} & set(said), prompt
    assert prompt.endswith(".") and prompt[0].isupper()


@pytest.mark.unit
def test_each_word_comes_once_and_a_plural_covers_its_singular():
    config = dataclasses.replace(load_config(), forms=(), transfer=dataclasses.replace(
        load_config().transfer, directory=(DirectoryEntry("Sales", "sales", "sip:a@b"),
                                           DirectoryEntry("Bob Smith", "Sales", "sip:c@d"))))
    config = _with(config, extra_words=("boiler", "Worcester Bosch", "sales"))
    prompt = business_vocabulary(config)
    lowered = prompt.lower()
    assert lowered.count("sales") == 1 and "worcester bosch" in lowered
    assert "boilers" not in lowered  # the extra word came first; the fact's plural brings nothing new


@pytest.mark.unit
def test_no_bias_no_prompt_and_an_empty_config_still_gives_one():
    assert business_vocabulary(_with(load_config(), bias=False)) == ""
    bare = dataclasses.replace(load_config(), forms=())
    bare = dataclasses.replace(bare, profile=dataclasses.replace(bare.profile, facts=()))
    assert business_vocabulary(bare).startswith("Acme Plumbing, Joe.")


@pytest.mark.unit
def test_forms_give_their_names_and_the_words_of_their_requests_not_their_questions():
    form = FormSettings(name="order a skip", description="Order a skip hire for rubble and garden waste.",
                        examples=("Can I get a skip delivered?",))
    config = dataclasses.replace(load_config(), forms=(form,))
    prompt = business_vocabulary(config)
    assert "Order a skip" in prompt and "rubble" in prompt and "garden waste" in prompt
    assert "delivered" in prompt
    assert distinctive_phrases("What's the address for the visit?") == ["address", "visit"]


@pytest.mark.unit
def test_the_knowledge_base_shares_the_prompt_most_frequent_first():
    config = dataclasses.replace(load_config(), forms=())
    passages = ["We also fit Worcester boilers.", "Every Vaillant boiler has a warranty.",
                "Vaillant parts are kept in the van.", "Ask about Vaillant servicing."]
    prompt = business_vocabulary(config, knowledge=passages)
    for words in ("Acme Plumbing, Joe.", "Booking reference", "Call-out", "water heaters", "warranty"):
        assert words in prompt, (words, prompt)
    assert prompt.index("Vaillant") < prompt.index("Worcester"), prompt
    many = [f"Product{i} is sold here." for i in range(200)]
    crowded = business_vocabulary(config, knowledge=many)
    assert len(crowded.split()) <= MAX_WORDS
    for words in ("Booking reference", "Call-out", "blocked drains", "water heaters"):  # not crowded out
        assert words in crowded, (words, crowded)


@pytest.mark.unit
def test_a_long_directory_and_many_facts_leave_room_for_the_forms_words():
    # The dental clinic's directory and facts filled a prompt built in a fixed order, so its booking form's
    # "filling" never got in, and a caller's "one of my fillings has fallen out" was heard as "feelings".
    staff = tuple(DirectoryEntry(f"Dr {first} {last}", job, f"sip:{first.lower()}@127.0.0.1")
                  for first, last, job in (("Stella", "Moreno", "orthodontics"), ("James", "Okafor", "implants"),
                                           ("Priya", "Raman", "hygiene"), ("Tomasz", "Nowak", "paediatrics"),
                                           ("Ines", "Duarte", "surgery"), ("Kwame", "Asante", "billing")))
    facts = tuple(f"We offer {thing} on weekdays." for thing in (
        "orthodontics", "implants", "veneers", "crowns", "bridges", "dentures", "sedation", "extractions",
        "braces", "retainers", "whitening trays", "gum treatment", "mouth guards", "sealants"))
    form = FormSettings(name="book an appointment", description="A check-up, a filling, or a scale and polish.",
                        examples=("I'd like to make an appointment.",))
    config = dataclasses.replace(load_config(), forms=(form,),
                                 transfer=dataclasses.replace(load_config().transfer, directory=staff))
    config = dataclasses.replace(config, profile=dataclasses.replace(config.profile, facts=facts))
    for knowledge in ((), [f"Our {thing} leaflet explains the {thing} treatment." for thing in (
            "Invisalign", "Zirconia", "Cerec", "Periodontal", "Fluoride", "Hydroxyapatite", "Lumineers")]):
        prompt = business_vocabulary(config, knowledge)
        assert len(prompt.split()) <= MAX_WORDS
        for words in ("filling", "orthodontics", "Book an appointment", "Booking reference"):
            assert words in prompt, (words, prompt)
        for entry in staff:  # every name: what a transfer or a message turns on, and what Whisper mishears most
            assert entry.name in prompt, (entry.name, prompt)
        assert not knowledge or "Invisalign" in prompt, prompt
    # more names than half the prompt holds: half go in first, the rest take turns with the other sources
    many = tuple(DirectoryEntry(f"{first} {middle} {last}", "", f"sip:{first.lower()}{i}@127.0.0.1")
                 for i, (first, middle, last) in enumerate(zip(
                     "Ana Jean Mary Juan Li Abdul Hans Eva Kim Rosa Omar Ines Piotr Aiko Femi Lars".split(),
                     "Maria Luc Ann Carlos Na Karim Peter Lena Ji Linda Said Sofia Jan Mei Ade Erik".split(),
                     "Souza Picard Evans Ortega Zhang Nasser Vogel Novak Woo Duarte Haddad Ramos Nowak Sato Bello "
                     "Berg".split(), strict=True)))
    crowded = dataclasses.replace(config, transfer=dataclasses.replace(config.transfer, directory=many))
    prompt = business_vocabulary(crowded)
    kept = [e.name for e in many if e.name in prompt]
    assert "filling" in prompt and "orthodontics" in prompt, prompt  # the other sources keep their turns
    assert 8 < len(kept) < len(many), (kept, prompt)  # 8 names fill the half; more take turns while room is left
    assert len(prompt.split()) <= MAX_WORDS


@pytest.mark.unit
def test_web_addresses_and_pasted_noise_stay_out_of_the_prompt(tokenizer):
    config = default_profile(load_config())
    knowledge = ["See https://example.com/how-to-book-an-appointment-with-our-friendly-reception-team for more.",
                 "Write to bookings@acme-plumbing.example or call us.", "Book at acme-plumbing.com/online today.",
                 "The up-to-the-minute state-of-the-art kit.",
                 "Ref " + "QWERTYUIOPASDFGHJKLZXCVBNM" * 8 + " applies.",
                 "The well-known-and-much-loved-combi boiler range."] * 3
    prompt = business_vocabulary(config, knowledge)
    lowered = prompt.lower()
    assert "https" not in lowered and "example" not in lowered and "qwerty" not in lowered, prompt
    assert "well-known" not in lowered and "bookings@" not in lowered, prompt
    assert "com" not in lowered.replace(",", " ").split() and "acme-plumbing" not in lowered, prompt
    assert "up-to-the-minute" not in lowered and "state-of-the-art" not in lowered, prompt  # hyphen chains
    assert len(prompt_tokens(tokenizer, prompt)) < 100 and prompt.startswith("Acme Plumbing, Joe."), prompt


@pytest.mark.unit
@pytest.mark.parametrize("profile", ["default", "dental"])
def test_the_prompt_is_well_under_100_tokens(tokenizer, profile):
    if profile == "dental" and not DENTAL.exists():
        pytest.skip("no dental profile")
    config = default_profile(load_config()) if profile == "default" else load_config(str(DENTAL))
    prompt = business_vocabulary(config)
    tokens = prompt_tokens(tokenizer, prompt)
    assert 20 < len(tokens) < 100, (len(tokens), prompt)


# ---- the doubt threshold ----

@pytest.mark.unit
def test_the_doubt_threshold_is_the_models_own_and_reaches_the_transcriber(monkeypatch):
    assert SttSettings().unsure_logprob == UNSURE_LOGPROB  # the bundled tiny.en's, measured
    assert Transcript("maybe", logprob=-0.6).unsure
    assert not Transcript("maybe", logprob=-0.6, unsure_below=-0.8).unsure  # a surer model's own threshold
    assert not Transcript("", logprob=-3.0).unsure
    built = []

    class Loaded:
        def __init__(self, folder, options):
            built.append(options)

        def load(self):
            return self

    monkeypatch.setattr(engines, "WhisperTranscriber", Loaded)
    config = load_config()
    engines.load_transcriber(dataclasses.replace(config, stt=dataclasses.replace(config.stt, unsure_logprob=-0.8)))
    assert built[0].unsure_logprob == -0.8


@pytest.mark.unit
def test_the_doubt_threshold_is_measured_from_what_was_heard_right():
    right = [-0.1] * 97 + [-0.42, -0.61, -0.9]  # 2 of 100 may fall below it (2.5 %)
    assert threshold(right) == -0.45
    assert threshold([-0.05] * 40) == -0.05 and threshold([]) == 0.0
    assert threshold([float("-inf")] * 10) == -5.0 and threshold([-9.0] * 10, step=0.3) == -5.0  # the config's floor

    @dataclasses.dataclass
    class Said:
        reference: str
        text: str
        logprob: float

    heard = [Said("are you open on saturdays", "are you open on saturdays", -0.1)] * 40 \
        + [Said("are you open on saturdays", "are you often on saturday", -0.7),  # a guess, caught
           Said("are you open on saturdays", "our you often on sundays", -0.05)]  # sure of a wrong hearing
    assert calibrate(heard) == (-0.1, 0, 40, 1, 2)


# ---- the prompt tokens ----

@pytest.mark.unit
def test_the_prompt_is_whispers_previous_text_as_faster_whisper_gives_an_initial_prompt(tokenizer):
    tokens = prompt_tokens(tokenizer, "  Acme Plumbing, Joe.  ")
    assert tokens[0] == tokenizer.sot_prev
    assert tokens[1:] == tokenizer.encode(" Acme Plumbing, Joe.")
    assert tokenizer.decode(tokens[1:]) == " Acme Plumbing, Joe."
    assert prompt_tokens(tokenizer, "   ") == []
    long = prompt_tokens(tokenizer, " ".join(f"word{i}" for i in range(400)))
    assert len(long) == 1 + MAX_PROMPT_TOKENS and tokenizer.decode(long[-3:]).endswith("word399")


# ---- the guards ----

@pytest.mark.unit
def test_a_loop_is_cut_after_its_first_time():
    assert without_repeats("Can you fix my boiler? Can you fix my boiler? Can you fix") == "Can you fix my boiler?"
    assert without_repeats("Hi. Is it you, Joe? Is it you, Joe? Is it, is it you Joe? Is it") == "Hi. Is it you, Joe?"
    assert without_repeats("Helen Carter. Helen Carter. Helen Carter.") == "Helen Carter"  # a short turn, thrice
    for kept in ("My number is 5 5 5 5 5 5", "one two three four, one two three four", "Hello? Hello?",
                 "I want to book a visit, I want to book a visit on Tuesday", "The number is, the number is 41"):
        assert without_repeats(kept) == kept


@pytest.mark.unit
def test_a_recital_of_the_prompt_or_babble_is_not_a_turn():
    prompt = "Acme Plumbing, Joe. Sales, Billing. Booking reference, callback number. Leaks, blocked drains."
    assert copies_prompt("Sales, billing. Booking reference, callback number.", prompt, 0.01)
    assert copies_prompt("Acme Plumbing.", prompt, 0.4)
    assert not copies_prompt("Acme Plumbing.", prompt, 0.02)  # a caller who names the business
    assert not copies_prompt("Put me through to sales.", prompt, 0.4)
    # a prompt of answers (addresses, days and times): a caller may give one of them word for word
    assert not copies_prompt("Twelve High Street.", ADDRESS_PROMPT, 0.3, answers=True)
    assert copies_prompt("Twelve High Street.", ADDRESS_PROMPT, 0.3)
    assert copies_prompt(ADDRESS_PROMPT, ADDRESS_PROMPT, 0.01, answers=True)  # a recital is still one
    # a name of the names prompt's is the caller's when heard surely, the prompt's when doubted (never stored)
    assert not copies_prompt("It's David Lee.", NAME_PROMPT, 0.1) and copies_prompt("It's David Lee.", NAME_PROMPT, 0.3)
    assert copies_prompt("James Smith. Maria Garcia.", NAME_PROMPT, 0.4)
    assert stutters("I'm, I'm, I'm,") and stutters("Go, go, go, go.")
    assert not stutters("No.") and not stutters("5 5 5 5") and not stutters("Can you fix it?")


@pytest.mark.unit
def test_a_number_of_the_digits_prompt_is_a_recital_any_other_is_a_callers():
    assert digits_said("Two one three, oh 4 0, nine") == "2130409"
    assert copies_numbers("Two one three, oh four oh, nine nine six six.", DIGITS_PROMPT)
    assert copies_numbers("447 112 0038", DIGITS_PROMPT)
    assert not copies_numbers("Five five five, zero one zero, seven seven eight eight.", DIGITS_PROMPT)
    assert not copies_numbers("Two one three.", DIGITS_PROMPT)  # a caller's area code may be anything


@pytest.mark.unit
def test_a_digit_written_as_a_word_that_sounds_like_it_counts_between_digits_only():
    assert spoken_digits("Three three one for four zero nine nine two two.") == "3314409922"
    assert spoken_digits("nine one two, three oh oh, four four too five") == "9123004425"
    assert spoken_digits("It's for five five five, zero one two") == "555012"  # "for" starts no number
    assert spoken_digits("I want to speak to 2 people") == "2"


# ---- the telephone path ----

@pytest.mark.unit
def test_g711_matches_the_reference_coder():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop
    samples = np.arange(-32768, 32768, dtype=np.int16)
    codes = np.arange(256, dtype=np.uint8)
    for law, encode, decode in (("ulaw", audioop.lin2ulaw, audioop.ulaw2lin),
                                ("alaw", audioop.lin2alaw, audioop.alaw2lin)):
        assert g711_encode(samples, law).tobytes() == encode(samples.tobytes(), 2)
        assert g711_decode(codes, law).tobytes() == decode(codes.tobytes(), 2)


@pytest.mark.unit
def test_the_telephone_path_keeps_the_length_and_loses_the_highs():
    t = np.arange(RATE) / RATE
    low, high = ((np.sin(2 * np.pi * f * t) * 8000).astype(np.int16) for f in (440, 6000))
    assert telephone(low, "ulaw").size == RATE
    assert np.abs(telephone(low, "alaw")).max() > 6000
    assert np.abs(telephone(high, "ulaw")[800:-800]).max() < 200  # above 4 kHz: gone on a G.711 line


@pytest.mark.unit
def test_domain_words_are_the_marked_ones_compounds_however_written():
    text, words = marked("Is [Bob Smith] there? My [call-out] was [blocked drains].")
    assert text == "Is Bob Smith there? My call-out was blocked drains." and words == (
        "bob", "smith", "callout", "blocked", "drains")
    clip = Clip("t", text, words, "slt", "ulaw")
    assert domain_hits(clip, "Is Bob Smith there? My call out was blocked brains.") == 4
    assert domain_hits(clip, "is bob smith there my callout was blocked drains") == 5
    assert normalise("Call-out") == ["call", "out"]


# ---- the real Whisper ----

@pytest.fixture(scope="module")
def ears():
    config = default_profile(load_config())
    return {False: transcriber(config, ""),
            True: transcriber(config, business_vocabulary(config), DIGITS_PROMPT, WHEN_PROMPT, ADDRESS_PROMPT,
                              NAME_PROMPT)}


@pytest.mark.engine
def test_silence_and_noise_stay_empty_with_a_prompt(ears):
    rng = np.random.default_rng(7)
    n = int(2.5 * RATE)
    t = np.arange(n) / RATE
    babble = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) * (1 + np.sin(2 * np.pi * rng.uniform(2, 6) * t))
                 for f in rng.uniform(100, 800, 12))
    clicks = np.zeros(n)
    clicks[rng.integers(0, n, 20)] = 1
    noises = {"silence": np.zeros(n), "white": rng.normal(0, 1, n), "hum": np.sin(2 * np.pi * 50 * t),
              "babble": babble, "clicks": clicks, "long silence": np.zeros(14 * RATE)}
    heard = {}
    for name, noise in noises.items():
        for level in (0.05, 0.4):
            pcm = (noise / (np.abs(noise).max() or 1) * level * 32767).astype(np.int16)
            for expect in EXPECTATIONS:
                heard[name, level, expect] = ears[True].transcribe(telephone(pcm, "ulaw").tobytes(), expect).text
    assert all(text == "" for text in heard.values()), heard


def _hits(ear, clips, folder):
    hits = words = 0
    for clip in clips:
        text = ear.transcribe(telephone(flite(clip.text, clip.voice, folder), clip.law).tobytes()).text
        hits += domain_hits(clip, text)
        words += len(clip.domain)
    return hits / words


@pytest.mark.engine
def test_the_business_is_heard_over_g711_at_least_as_well_with_the_prompt(ears, tmp_path_factory):
    sentences = ("Good afternoon, is that [Acme Plumbing]?", "Can I have a word with [Bob Smith] in [sales]?",
                 "The [water heater] in my flat is leaking.", "I'll read you my [booking reference].")
    clips = [Clip("t", *marked(s), voice, law) for s in sentences for voice, law in (("awb", "ulaw"), ("slt", "alaw"))]
    folder = tmp_path_factory.mktemp("flite")
    unbiased, biased = _hits(ears[False], clips, folder), _hits(ears[True], clips, folder)
    assert biased >= unbiased and biased >= 0.75, (unbiased, biased)


@pytest.mark.engine
def test_a_long_turn_is_prompted_too(ears, tmp_path_factory):
    """Over the short window (12 s) faster-whisper's own path runs, with the prompt as its initial prompt."""
    folder = tmp_path_factory.mktemp("flite")
    first = flite("Hello, is that Acme Plumbing? I think my water heater is leaking.", "awb", folder)
    then = flite("And the kitchen drain is blocked as well, so please send a plumber.", "slt", folder)
    pcm = np.concatenate([first, np.zeros(13 * RATE - first.size, dtype=np.int16), then])
    heard = normalise(ears[True].transcribe(telephone(pcm, "alaw").tobytes()).text)
    assert {"acme", "heater", "drain", "blocked", "plumber"} <= set(heard), heard
    assert heard.count("acme") == 1, heard  # the prompt is not recited


@pytest.mark.engine
def test_a_number_asked_for_is_heard_digit_by_digit(ears, tmp_path_factory):
    """After "what number can we reach you on?", the digits prompt: repeated digits are kept, not merged into a
    formatted figure ("seven seven eight eight" as "778"). Voices and numbers that are in no prompt."""
    numbers = (("Five five five, zero one zero, seven seven eight eight.", "5550107788"),
               ("It's three three one, four four zero, nine nine two two.", "3314409922"),
               ("Eight zero zero, five five five, one two one two.", "8005551212"),
               ("My number is six one seven, two two two, eight eight eight one.", "6172228881"))
    folder = tmp_path_factory.mktemp("flite")
    right = {"": 0, "digits": 0}
    heard = []
    for text, digits in numbers:
        for voice, law in (("awb", "ulaw"), ("rms", "alaw"), ("kal16", "ulaw")):
            pcm = telephone(flite(text, voice, folder), law).tobytes()
            for expect in right:
                said = ears[True].transcribe(pcm, expect).text
                right[expect] += spoken_digits(said) == digits
                heard.append((expect, said))
    assert right["digits"] > right[""] and right["digits"] >= 8, (right, heard)  # of 12
    with pytest.raises(ValueError):
        ears[True].transcribe(bytes(RATE), "a date")


def _right_per_expectation(ears, folder, sentences, voices, expect, right):
    """How many sentences the biased ear hears right (by `right`) with no expectation and with `expect`."""
    counts = {"": 0, expect: 0}
    heard = []
    for text in sentences:
        for voice, law in voices:
            pcm = telephone(flite(text, voice, folder), law).tobytes()
            for expecting in counts:
                said = ears[True].transcribe(pcm, expecting).text
                counts[expecting] += right(text, said)
                heard.append((expecting, said))
    return counts, heard


@pytest.mark.engine
def test_a_time_asked_for_is_heard_with_its_day(ears, tmp_path_factory):
    """After "when would suit you?", the days-and-times prompt: the weekday is heard as a weekday ("next Tuesday",
    not "next to the"), judged by the form's own parser. Sentences and voices that are in no prompt."""
    from employai.harness.hearing_times import heard_right

    sentences = ("Could you come next Tuesday?", "Wednesday, at two o'clock.", "Thursday, around eleven.",
                 "Friday at half past three.")
    right, heard = _right_per_expectation(ears, tmp_path_factory.mktemp("flite"), sentences,
                                          (("awb", "ulaw"), ("slt", "alaw"), ("kal16", "ulaw")), "when", heard_right)
    assert right["when"] > right[""] and right["when"] >= 8, (right, heard)  # of 12


@pytest.mark.engine
def test_an_address_asked_for_is_heard_with_its_street(ears, tmp_path_factory):
    """After "what's the address?", the street-names prompt: an address is heard with its number and street words
    right more often. Streets and voices in no prompt."""
    from employai.harness.hearing_addresses import heard_right

    sentences = ("Thirty two Hawthorn Avenue.", "It's seven Birch Close, Westbury.", "Twenty one Kingsley Road.",
                 "Five Willow Crescent, please.", "Three Primrose Hill.")
    right, heard = _right_per_expectation(ears, tmp_path_factory.mktemp("flite"), sentences,
                                          (("rms", "ulaw"), ("slt", "alaw"), ("kal16", "ulaw")), "address",
                                          heard_right)
    assert right["address"] > right[""] and right["address"] >= 6, (right, heard)  # of 15


@pytest.mark.engine
def test_the_knowledge_bases_words_are_heard_once_its_documents_are_in(tmp_path, tmp_path_factory):
    """The running bot's prompt follows the knowledge base (employai/runtime/business_prompt.py): brand names only
    a document has are heard as the document writes them, over G.711, in three voices."""
    from employai.cli.knowledge import add_document
    from employai.runtime.business_prompt import BusinessPrompt
    from memory.transcripts import TranscriptStore

    from .test_records import WordEmbedder

    config = default_profile(load_config())
    ear = transcriber(config, business_vocabulary(config), DIGITS_PROMPT)  # its own: the shared ones stay as they are
    folder = tmp_path_factory.mktemp("flite")
    said = ("Do you service Vaillant boilers?", "Is there a warranty on a Worcester Bosch?",
            "Do you stock Grundfos pumps?")
    clips = [telephone(flite(s, voice, folder), law).tobytes()
             for s in said for voice, law in (("slt", "ulaw"), ("rms", "alaw"), ("awb", "ulaw"))]
    brands = ("vaillant", "worcester", "bosch", "grundfos")

    def heard() -> int:
        return sum(brand in normalise(ear.transcribe(pcm).text) for pcm in clips for brand in brands)

    before = heard()
    store = TranscriptStore(str(tmp_path / "db.sqlite3"), embedder=WordEmbedder())  # both backends: test_knowledge_base
    document = tmp_path / "boilers.md"
    document.write_text("We service Vaillant and Worcester Bosch boilers.\n\nEvery Vaillant boiler has a ten-year "
                        "warranty.\n\nGrundfos pumps are kept in the van.\n")
    add_document(store.archive, document)
    assert BusinessPrompt(config, ear, store.database).refresh() and "Grundfos" in ear.prompt
    store.close()
    after = heard()
    assert after >= before + 3 and after >= 5, (before, after)
    number = telephone(flite("Five five five, zero one two.", "rms", folder), "ulaw").tobytes()
    assert digits_said(ear.transcribe(number, "digits").text).startswith("555012")  # its own prompt still


@pytest.mark.engine
def test_clear_speech_is_not_doubted_and_the_recogniser_reports_its_doubt(ears, tmp_path_factory):
    """`Transcript.unsure` (the bot then asks to hear a turn again, when nothing understands it): not for clear
    questions over G.711, in voices and words of no prompt; a score is reported for every transcript."""
    folder = tmp_path_factory.mktemp("flite")
    questions = ("How much do you charge to come out?", "Are you open on Saturdays?",
                 "Can I leave a message for the manager?", "Thank you very much, goodbye.")
    heard = [ears[True].transcribe(telephone(flite(q, voice, folder), law).tobytes())
             for q in questions for voice, law in (("awb", "ulaw"), ("rms", "alaw"))]
    assert all(t.logprob < 0 for t in heard), heard  # measured, not left at "sure"
    assert sum(t.unsure for t in heard) <= 1, heard
