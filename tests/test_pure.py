"""Pure helpers, no I/O: SIP headers, VAD segmentation, sentence chunking, playout bookkeeping, facts, WER."""

from __future__ import annotations

import pytest

from brain.knowledge import FactFinder
from employai.harness.wer import normalise, wer
from speech.echo_gate import EchoGate
from speech.pcm import FRAME_BYTES
from speech.playout import Playout, heard_text
from speech.sentences import SentenceChunker, speakable
from speech.vad import SpeechPaused, SpeechResumed, SpeechStarted, TurnEnded, UtteranceSegmenter
from telephony.headers import caller_identity, header_values, normalise_user, uri_of

pytestmark = pytest.mark.unit

INVITE = (
    "INVITE sip:bot@10.0.0.1 SIP/2.0\r\n"
    'f: "Alice Martin" <sip:+1 (555) 010-1@pbx.example;user=phone>;tag=9\r\n'
    "To: <sip:bot@10.0.0.1>\r\n"
    "Referred-By: <sip:bob@pbx.example>\r\n"
    "Subject: a very\r\n long subject\r\n"
    "\r\nv=0\r\nFrom: not-a-header\r\n"
)


def test_headers_compact_forms_folding_and_body_ignored():
    assert header_values(INVITE, "from") == ['"Alice Martin" <sip:+1 (555) 010-1@pbx.example;user=phone>;tag=9']
    assert header_values(INVITE, "subject") == ["a very long subject"]
    assert uri_of("<sip:bob@pbx.example>;x=1") == "sip:bob@pbx.example"
    assert uri_of("sip:carol@h;transport=tcp") == "sip:carol@h"


def test_caller_identity_prefers_p_asserted_identity_from_a_trusted_proxy_and_normalises_numbers():
    who = caller_identity(INVITE, trusted=True)
    assert who.user == "+15550101" and who.display_name == "Alice Martin" and who.verified
    pai = INVITE.replace("To:", "P-Asserted-Identity: <tel:+15550199>\r\nTo:", 1)
    assert caller_identity(pai, trusted=True).user == "+15550199"
    claimed = caller_identity(pai)  # anyone else: the From user, as a claim
    assert claimed.user == "+15550101" and not claimed.verified


def test_withheld_callers_are_anonymous():
    assert caller_identity(INVITE.replace("+1 (555) 010-1", "anonymous")).anonymous
    private = INVITE.replace("To:", "Privacy: id\r\nTo:", 1)
    assert caller_identity(private).anonymous
    assert not caller_identity(private, trusted=True).verified
    assert normalise_user("sip:Alice@example.com") == "alice"


def _frames(pattern: str):
    """'v' voiced, '.' silent, one 20 ms frame each, numbered in their bytes."""
    return [(i.to_bytes(2, "little") * (FRAME_BYTES // 2), ch == "v") for i, ch in enumerate(pattern)]


def _run(seg, pattern):
    events = []
    for i, (frame, voiced) in enumerate(_frames(pattern)):
        events += seg.push(frame, voiced, i * 0.02)
    return events


def test_segmenter_keeps_preroll_pauses_early_and_ends_the_turn():
    seg = UtteranceSegmenter(preroll_ms=60, min_speech_ms=60, early_silence_ms=60, end_silence_ms=100)
    events = _run(seg, "....vvvv.....")
    kinds = [type(e) for e in events]
    assert kinds == [SpeechStarted, SpeechPaused, TurnEnded]
    assert events[0].at == pytest.approx(4 * 0.02)
    end = events[2]
    assert end.speech_end == pytest.approx(8 * 0.02)
    assert end.pcm == events[1].pcm  # early transcription saw exactly the final utterance
    assert len(end.pcm) // FRAME_BYTES == 3 + 4 + 3  # pre-roll + speech + the early-pause silence


def test_segmenter_resumes_and_ignores_short_noise():
    seg = UtteranceSegmenter(preroll_ms=0, min_speech_ms=60, early_silence_ms=60, end_silence_ms=200)
    assert _run(seg, "v.v..v....") == []  # never three voiced frames close together
    kinds = [type(e) for e in _run(seg, "vvv...vv" + "." * 10)]
    assert kinds == [SpeechStarted, SpeechPaused, SpeechResumed, SpeechPaused, TurnEnded]


def test_segmenter_tolerates_a_single_unvoiced_frame_at_onset():
    seg = UtteranceSegmenter(preroll_ms=0, min_speech_ms=80, early_silence_ms=40, end_silence_ms=100)
    assert isinstance(_run(seg, "vv.vv")[0], SpeechStarted)


def test_sentence_chunker_cuts_the_first_clause_early_then_sentences():
    chunker = SentenceChunker()
    pieces = []
    for token in "Sure, we can do that for you, no problem. It costs eighty dollars. Bye".split(" "):
        pieces += chunker.push(token + " ")
    pieces += chunker.flush()
    assert pieces == ["Sure, we can do that for", "you, no problem.", "It costs eighty dollars.", "Bye"]
    chunker = SentenceChunker()
    clause = [p for t in "Well, sure thing, we can.".split(" ") for p in chunker.push(t + " ")] + chunker.flush()
    assert clause == ["Well, sure thing,", "we can."]
    chunker = SentenceChunker()
    long_first = [p for t in "I would be very happy to help you with that today. Yes".split(" ")
                  for p in chunker.push(t + " ")] + chunker.flush()
    assert long_first == ["I would be very happy to", "help you with that today.", "Yes"]
    assert speakable("**Hours:** 9-5 \U0001F600") == "Hours: 9-5"


def test_playout_tells_what_was_heard_when_cut():
    playout = Playout(echo_tail_ms=100)
    playout.enqueue(b"\x01\x00" * (FRAME_BYTES // 2) * 4, "one two three four", 1)
    playout.enqueue(b"\x01\x00" * (FRAME_BYTES // 2) * 2, "five six", 1)
    for _ in range(4 + 1):
        assert playout.next_frame() is not None
    assert playout.recent_peak() == 1
    segments = playout.clear()
    assert playout.next_frame() is None and not playout.speaking
    assert heard_text(segments) == "one two three four five"


def test_echo_gate_needs_louder_than_echo_while_the_bot_talks():
    gate = EchoGate(ratio=0.25, window_frames=1)
    quiet = (1000).to_bytes(2, "little", signed=True) * (FRAME_BYTES // 2)
    loud = (9000).to_bytes(2, "little", signed=True) * (FRAME_BYTES // 2)
    assert gate.passes(quiet, far_end_peak=0)
    assert not gate.passes(quiet, far_end_peak=16000)
    assert gate.passes(loud, far_end_peak=16000)


def test_facts_match_caller_words_by_keywords_without_an_embedder():
    facts = ["We are open Monday to Friday.", "A visit costs eighty dollars.", "We fix boilers."]
    finder = FactFinder(None, facts)
    assert finder.answer("What are your opening hours?") == facts[0]
    assert finder.answer("how much does a visit cost?") == facts[1]
    assert finder.answer("do you fix boilers") == facts[2]
    assert finder.answer("what's the weather like") is None


def test_wer_normalises_case_punctuation_and_numbers():
    assert normalise("Mr. Smith paid 80 dollars in 1455, forty-two!") == \
        "mister smith paid eighty dollars in fourteen fifty five forty two".split()
    assert wer(["go forward ten meters"], ["Go forward 10 meters."]) == 0.0
    assert wer(["one two three four"], ["one two four"]) == 0.25
    assert wer(["a visit costs eighty dollars"], ["A visit costs $80."]) == 0.0
    assert normalise("$12.50 or 5%") == "twelve dollars fifty cents or five percent".split()


OFFER = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
         "m=audio 4000 RTP/AVP 0 8 9 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n")
ANSWER = ("v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
          "m=audio 40000 RTP/AVP 9 0 8 120\r\na=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\n"
          "a=rtpmap:8 PCMA/8000\r\na=rtpmap:120 telephone-event/16000\r\na=fmtp:120 0-16\r\na=sendrecv\r\n")


def test_answer_is_narrowed_to_our_preferred_offered_codec():
    from telephony.sdp import best_codec, narrow_answer

    assert best_codec(OFFER, ("G722", "PCMU", "PCMA")) == "G722"
    assert best_codec(OFFER.replace(" 9 101", " 101"), ("G722", "PCMU", "PCMA")) == "PCMU"
    assert best_codec(OFFER.replace("0 8 9 101", "3"), ("G722", "PCMU", "PCMA")) is None
    narrowed = narrow_answer(ANSWER, "G722")
    assert "m=audio 40000 RTP/AVP 9 120\r\n" in narrowed
    assert "PCMU" not in narrowed and "a=rtpmap:120 telephone-event/16000" in narrowed and "a=sendrecv" in narrowed
