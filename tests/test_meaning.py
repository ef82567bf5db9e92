"""Understanding by meaning with the real MiniLM embedder (brain/meaning.py, knowledge.py, intents.py), and the
switchboard's matching of a misheard name by spelling and sound (brain/switchboard.py, phonetic.py; no model).

The phrasings here are not the examples the code matches against (a test checks it): they stand for what a
caller says that nobody wrote down, over a telephone line, as Whisper writes it (lower case, little punctuation).
"""

from __future__ import annotations

import pytest

from brain.intents import CONVERSATION, GOODBYE, REPEAT, ROBOT, TOPICS, TurnIntents
from brain.knowledge import FactFinder
from brain.meaning import Intents, MeaningIndex, edit_distance, spelled_alike, stem
from brain.phonetic import sound_key, sound_similarity
from brain.switchboard import CONFIRM_TEXT, Directory
from memory.embeddings import MiniLMEmbedder
from sip_config import load_config
from sip_config.loader import config_from_dict
from sip_config.models import resolve_models

PLUMBING = list(load_config().profile.facts)  # the embedded defaults: hours, call-out price, the work
DENTAL = ["The clinic is open Monday to Thursday from eight in the morning to six in the evening, and on Saturday "
          "mornings.",
          "A check-up with the dentist costs sixty-five dollars, and a cleaning with the hygienist costs ninety "
          "dollars.",
          "We keep appointments free every day for emergencies such as toothache, a broken tooth or swelling.",
          "We accept most dental insurance plans, including Delta Dental and MetLife.",
          "There is free parking behind the building, and the number 12 bus stops outside."]
CALLER = ["Your booking reference is 4471.", "Your name is Alice Martin.", "Your callback number is 5550107788."]

# (question, a word of the fact that answers it)
PLUMBING_QUESTIONS = [
    ("What kind of work do you do?", "leaks"), ("How much do you charge to come out?", "eighty"),
    ("Are you open on Saturdays?", "Monday"), ("what time do you finish today", "Monday"),
    ("are you guys open sunday", "Monday"), ("which days do you work", "Monday"),
    ("is the office open now", "Monday"), ("what time do you start in the morning", "Monday"),
    ("do you open at the weekends at all", "Monday"), ("are you available on a saturday morning", "Monday"),
    ("what's your call out charge", "eighty"), ("is it expensive", "eighty"), ("what do you guys charge", "eighty"),
    ("how much do you charge for a visit", "eighty"), ("what's your fee", "eighty"),
    ("what would it cost me to get someone out", "eighty"), ("is there a call out fee", "eighty"),
    ("what sort of things do you fix", "leaks"), ("do you repair water heaters", "leaks"),
    ("do you do boilers", "leaks"), ("do you deal with leaking pipes", "leaks"), ("what jobs do you take", "leaks"),
    ("can you unblock a drain", "leaks"), ("my boiler stopped working can you help", "leaks"),
    ("do you sort out blocked drains", "leaks"), ("can you help with a leak", "leaks"),
    ("Trillo, what sort of job do you take on?", "leaks"), ("Hiya, are you open on a Saturday?", "Monday"),
    ("could you deal with a tap that drips", "leaks"), ("do you sort out toilets that won't flush", "leaks"),
    ("what's the call-out, roughly", "eighty"),
    # a thing with a description after it: what is asked of it is "could you deal with a something?"
    ("Could you deal with a shower that drips all night?", "leaks"),
    ("Is a washing machine hose that floods the floor something you can fix?", "leaks"),
]
DENTAL_QUESTIONS = [
    ("when is the clinic open", "Monday"), ("are you open saturday", "Monday"),
    ("what time do you open on thursday", "Monday"),
    ("when do you close on monday", "Monday"), ("are you open late", "Monday"),
    ("how much is a cleaning", "cleaning"), ("how much does a checkup cost", "cleaning"),
    ("what does the hygienist cost", "cleaning"), ("what are your prices like", "cleaning"),
    ("I have terrible toothache can I come in today", "emergencies"), ("do you see emergencies", "emergencies"),
    ("I cracked a tooth can you see me today", "emergencies"), ("I've got a really bad toothache", "emergencies"),
    ("do you take my insurance", "insurance"), ("will my insurance cover it", "insurance"),
    ("do you take metlife", "insurance"), ("is delta dental ok", "insurance"),
    ("where do I park the car", "parking"), ("is there a car park", "parking"), ("which bus goes there", "parking"),
]
OFF_TOPIC = [
    "Can you fix my car?", "What's the weather like?", "Do you sell pizza?", "Do you fix cars?", "hello",
    "thanks bye", "who is the president", "do you do electrical work", "can you fix my roof", "yes please",
    "my name is john", "can you service my car", "do you deliver pizza", "is it going to rain today",
    "do you sell flowers", "what's the capital of france", "do you install solar panels", "do you fix laptops",
    "can you walk my dog", "how old are you", "do you cut hair", "can I book a table for two", "okay",
    "do you do gardening", "can you paint my house", "do you fix computers", "who won the election",
    "what is your favourite colour", "my name is peter jones", "what's your email address",
    "Cars, do you fix them?", "Joe, do you fix cars?", "Morning, do you do roofs?",
    "could you deal with a car that won't start", "could you deal with a fence that's fallen down",
    "my laptop keeps crashing can you help", "could you deal with a car that makes a noise all night",
]
DENTAL_OFF_TOPIC = [
    "Which dentist is working this afternoon?",  # names the dentist, asks nothing a price answers
    "do you do braces", "do you sell toothbrushes", "how much is a filling", "can you fix my boiler",
    "do you do root canals", "what's the weather tomorrow", "do you treat dogs", "how much is an implant",
    "do you fix cars", "can I get a haircut", "how much are dentures", "do you have a cafe", "can you fix my glasses",
    "do you sell mouthwash", "can I bring my kids", "do you do teeth whitening",
]
CALLER_QUESTIONS = [
    ("remind me of my working reference", "4471"), ("remind me of my walking reference", "4471"),
    ("what's my reference again", "4471"), ("what was my booking reference", "4471"),
    ("what booking number did you give me", "4471"), ("I forgot my booking reference", "4471"),
    ("what name do you have for me", "Alice"), ("do you have my name", "Alice"), ("what name have you got", "Alice"),
    ("what number do you have for me", "5550107788"), ("what phone number do you have for me", "5550107788"),
    ("which number will you call me back on", "5550107788"),
]
CALLER_OFF_TOPIC = ["what's your name", "what are your opening hours", "can you fix a leak", "what's my email",
                    "what's my account number", "what's my address", "what's your phone number", "who are you",
                    "what's my date of birth", "do you fix boilers"]

GOODBYES = ["bye", "bye bye", "goodbye", "cheers, bye now", "thanks, that's all", "thank you so much, goodbye",
            "okay thanks bye", "that's everything, thank you", "no that's it thanks", "lovely, thanks a lot, bye",
            "ok see you", "perfect thank you goodbye", "thanks bye bye", "okay thank you have a good day",
            "Thank you. Goodbye.", "Okay. Bye-bye.", "right, thanks, see you later", "no thank you that's all I needed",
            "thanks, I'm all sorted", "All right. Thank you. Bye.",
            "Lovely, that's everything, chairs by.", "That's all, by now.", "thanks very much, buy"]
ROBOTS = ["are you some kind of robot", "am I talking to a real person right now", "is this a computer",
          "are you a human being",
          "is this an automated service", "are you real", "you're a bot aren't you", "is this AI",
          "are you an actual person", "is this a real person or a computer", "are you a recorded message",
          "is this a chatbot", "wait, are you a machine?", "are u a robot", "am i talking with a bot",
          "are you a live person"]
REPEATS = ["sorry?", "pardon me?", "what was that", "can you say that again", "could you repeat that please",
           "sorry I didn't hear you", "come again, sorry", "say again please", "I didn't catch what you said",
           "what did you just say", "sorry, what?", "huh?", "excuse me?", "you cut out, say again",
           "sorry, repeat please", "could you say it again slowly"]
NOT_INTENTS = [
    "I need a plumber before I go on holiday", "my robot vacuum flooded the kitchen", "don't hang up",
    "bye the way I also need a quote", "I'm not a robot, I'm a real customer", "can you book me in for tuesday",
    "my boiler is leaking", "what are your opening hours", "put me through to sales", "yes please", "no",
    "thanks, and can you also send someone tomorrow", "thank you, how much will it cost", "wait, before you go",
    "I said goodbye to my old plumber", "repeat customer here, I need a visit", "I'd like a repeat prescription",
    "the machine in my kitchen is broken", "is this Acme Plumbing", "thanks", "okay", "great", "hello",
    "goodbye to the leak would be nice", "please don't hang up on me", "can I speak to a human",
    "the robot lawnmower cut a pipe", "thanks, one more thing", "sorry to bother you, my sink is blocked",
    "see you tomorrow then, at ten, is that ok?", "I'm done with my old plumber, can you help", "that's all wrong",
    "I'll pay by card", "can someone come by", "thanks, I'll pay by card", "stand by",
]


@pytest.fixture(scope="module")
def embedder():
    return MiniLMEmbedder(resolve_models(load_config()).embedding_zip).load()


@pytest.fixture(scope="module")
def finders(embedder):
    return {name: FactFinder(embedder, facts) for name, facts in
            (("plumbing", PLUMBING), ("dental", DENTAL), ("caller", CALLER))}


def test_test_phrasings_are_not_the_code_examples():
    examples = {e.lower().strip(" ?.!") for group in (CONVERSATION, TOPICS) for es in group.values() for e in es}
    said = [q for q, _ in PLUMBING_QUESTIONS + DENTAL_QUESTIONS + CALLER_QUESTIONS] + GOODBYES + ROBOTS + REPEATS
    assert not {s.lower().strip(" ?.!") for s in said} & examples
    assert len(PLUMBING_QUESTIONS) + len(DENTAL_QUESTIONS) >= 30 and len(OFF_TOPIC) >= 15


@pytest.mark.engine
@pytest.mark.parametrize("facts, questions", [("plumbing", PLUMBING_QUESTIONS), ("dental", DENTAL_QUESTIONS),
                                              ("caller", CALLER_QUESTIONS)])
def test_questions_find_the_fact_that_answers_them(finders, facts, questions):
    wrong = [(q, finders[facts].answer(q)) for q, word in questions if word not in (finders[facts].answer(q) or "")]
    assert not wrong


@pytest.mark.engine
@pytest.mark.parametrize("facts, questions", [("plumbing", OFF_TOPIC), ("dental", DENTAL_OFF_TOPIC + OFF_TOPIC[:10]),
                                              ("caller", CALLER_OFF_TOPIC)])
def test_questions_the_facts_do_not_answer_get_none(finders, facts, questions):
    answered = [(q, finders[facts].answer(q)) for q in questions if finders[facts].answer(q) is not None]
    assert not answered


@pytest.mark.engine
@pytest.mark.engine
def test_two_facts_that_answer_alike_are_both_said(embedder):
    clinic = FactFinder(embedder, ["A check-up with the dentist costs sixty-five dollars.",
                                   "A cleaning with the hygienist costs ninety dollars.",
                                   "We are at twelve Harbour Street."])
    both = clinic.answer("what do you charge")
    assert both == "A check-up with the dentist costs sixty-five dollars. A cleaning with the hygienist costs ninety" \
                   " dollars.", both
    assert clinic.answer("how much is a cleaning") == "A cleaning with the hygienist costs ninety dollars."


def test_a_follow_on_fragment_is_the_kind_of_question_it_follows(finders):
    dental = finders["dental"]
    price = "How much is a check-up?"
    assert "ninety" in (dental.answer("And a scale and polish with the hygienist?", follows=price) or "")
    assert "ninety" in (dental.answer("What about a cleaning?", follows=price) or "")
    assert "ninety" in (dental.answer("And the scale and polish with the hygienist.",
                                      follows="Bye, how much of a check-up?") or "")  # as a line heard it
    assert dental.answer("And a scale and polish with the hygienist?") is None  # alone, it asks nothing
    assert dental.answer("And a root canal?", follows=price) is None  # no fact has a root canal
    assert dental.answer("And do you do braces?", follows=price) is None  # a question of its own
    assert "leaks" in (finders["plumbing"].answer("And what about a dripping shower?", follows="Do you fix boilers?")
                       or "")


@pytest.mark.engine
def test_the_business_own_term_is_found_beside_a_stray_word(finders):
    plumbing, dental = finders["plumbing"], finders["dental"]
    # "What's your callout fee these days?" as tiny.en heard it over G.711: "CV" is in no fact
    assert "eighty" in (plumbing.answer("What's your call-out CV days?") or "")
    assert "eighty" in (plumbing.answer("So what's the callout thing cost?") or "")
    # what else it names is a thing another fact has: not the term's fact
    assert "sixty-five" not in (dental.answer("Do you do check-ups on Saturday afternoons?") or "")
    assert dental.answer("Which dentist is working this afternoon?") is None  # a word of a fact, not its term
    assert plumbing.answer("What's your call-out crown days?") is None  # a thing no fact has is no fragment


@pytest.mark.engine
def test_a_described_problem_finds_the_fact_about_it_only_by_its_own_word(finders, embedder):
    plumbing, dental = finders["plumbing"], finders["dental"]
    refusing = FactFinder(embedder, ["We do not fix roofs or gutters.", "A standard call-out costs eighty dollars."])
    assert refusing.about("The gutter on my roof is leaking.") is None  # what is not done is no lead-in to a visit
    for described in ("Our boiler has stopped working.", "The boiler in the loft is leaking.",
                      "An animal boiler that keeps cutting out."):  # the last as tiny.en heard "And an old boiler"
        assert "boilers" in (plumbing.about(described) or ""), described
    assert "emergencies" in (dental.about("I think I have a broken tooth.") or "")
    # Friday is in the opening hours, but not what this caller is about: at the clinic, the toothache is
    assert "toothache" in (dental.about("My tooth has been hurting since Friday.") or "")
    assert plumbing.about("My tooth has been hurting since Friday.") is None
    for unrelated in ("My car won't start in the mornings.", "There's a funny smell in the hallway.",
                      "I want to change my address.", "My roof is leaking."):  # leaks we fix; a roof, who knows
        assert plumbing.about(unrelated) is None and dental.about(unrelated) is None, unrelated


@pytest.mark.engine
def test_the_issues_questions_on_the_embedded_defaults(finders):
    plumbing = finders["plumbing"]
    assert "eighty dollars" in (plumbing.answer("How much do you charge to come out?") or "")
    assert "Monday to Friday" in (plumbing.answer("Are you open on Saturdays?") or "")
    assert "leaks" in (plumbing.answer("What kind of work do you do?") or "")
    assert plumbing.answer("Do you fix cars?") is None  # not "we fix leaks ..." as if that were a yes
    match = plumbing.match("what are your opening hours")
    assert match is not None and 0.5 <= match.score <= 1.0 and match.index == 0


@pytest.mark.engine
def test_a_fact_finder_shares_its_vectors_and_a_caller_finder_is_cheap_to_make(embedder):
    first = FactFinder(embedder, CALLER)
    again = FactFinder(embedder, list(CALLER))  # made per question for the caller's remembered facts
    assert first.answer("what's my reference again") == again.answer("what's my reference again") == CALLER[0]
    assert FactFinder(embedder, []).answer("when are you open") is None
    assert FactFinder(embedder, PLUMBING).answer("   ") is None


def test_without_an_embedder_facts_match_by_keywords():
    finder = FactFinder(None, PLUMBING)
    assert finder.answer("do you fix boilers and water heaters") == PLUMBING[2]
    assert finder.answer("what's the weather like") is None


@pytest.mark.engine
def test_meaning_index_scores_in_range_best_first_with_a_threshold(embedder):
    index = MeaningIndex(embedder, ["The cat sat on the mat.", "Stock markets fell sharply today.",
                                    "A kitten was resting on the rug."])
    ranked = index.ranked("a small cat lying on a carpet", limit=3)
    assert [m.index for m in ranked][:1] in ([0], [2]) and {m.index for m in ranked[:2]} == {0, 2}
    assert all(0.0 <= m.score <= 1.0 for m in ranked) and ranked == sorted(ranked, key=lambda m: -m.score)
    assert index.best("a small cat lying on a carpet") is not None
    assert index.best("how do I renew my passport") is None
    assert index.best("a small cat lying on a carpet", min_score=0.99) is None
    keywords_only = MeaningIndex(None, ["open on monday", "costs eighty dollars"])
    best = keywords_only.best("how many dollars does it cost")
    assert best is not None and best.index == 1


@pytest.mark.engine
def test_intents_classify_by_meaning_and_abstain(embedder):
    intents = Intents(embedder, {"weather": ["Is it going to rain?", "What's the forecast?"],
                                 "food": ["What's for dinner?", "I'm hungry."]}, min_score=0.5)
    found = intents.classify("is it going to be rainy tomorrow")
    assert found is not None and found[0] == "weather" and 0.5 <= found[1] <= 1.0
    assert intents.classify("my car broke down on the motorway") is None


@pytest.fixture(scope="module")
def turn_intents(embedder):
    return TurnIntents(embedder)


@pytest.mark.engine
@pytest.mark.parametrize("intent, said", [(GOODBYE, GOODBYES), (ROBOT, ROBOTS), (REPEAT, REPEATS),
                                          (None, NOT_INTENTS)])
def test_turn_intents_on_telephone_turns(turn_intents, intent, said):
    wrong = [(s, turn_intents.detect(s)) for s in said if turn_intents.detect(s) != intent]
    assert not wrong


def test_turn_intents_without_an_embedder_use_the_cues_only():
    intents = TurnIntents(None)
    assert intents.detect("thanks, bye") == GOODBYE and intents.detect("are you a robot?") == ROBOT
    assert intents.detect("sorry, say that again") == REPEAT and intents.detect("bye the way, one more thing") is None


def test_word_tools():
    assert {stem(w) for w in ("leaks", "leaking", "leaked", "leak")} == {"leak"}
    assert stem("coming") == stem("come") and stem("prices") == stem("price") and stem("boxes") == "box"
    assert edit_distance("booking", "working") == 2 and edit_distance("kitten", "sitting", limit=1) == 2
    assert spelled_alike("booking", "looking") and not spelled_alike("cars", "card")


def test_sound_keys_keep_what_a_telephone_line_keeps():
    assert sound_key("sales") == "FALF" and sound_key("jail") == "FAL" and sound_key("mail") == "MAL"
    assert sound_similarity("mail", "sales") > sound_similarity("kitchen", "sales")
    assert sound_similarity("della", "stella") > 0.9 and sound_similarity("police", "alice") < 0.78


def _directory(entries: list[dict]) -> Directory:
    config = config_from_dict({"registration": {"registrar": "sip:pbx.example", "password": "x"},
                               "transfer": {"directory": entries}})
    return Directory(config.transfer, "pbx.example")


OFFICE = _directory([{"name": "Sales", "department": "sales", "uri": "201"},
                     {"name": "Billing", "department": "billing", "uri": "202"},
                     {"name": "Support", "department": "support", "uri": "203"},
                     {"name": "Bob Smith", "department": "sales", "uri": "204"},
                     {"name": "Alice Jones", "department": "accounts", "uri": "205"}])
CLINIC = _directory([{"name": "Dr Stella Moreno", "department": "dentist", "uri": "301"},
                     {"name": "Reception", "department": "front desk", "uri": "302"},
                     {"name": "Hygienist", "department": "hygiene", "uri": "303"},
                     {"name": "Billing", "department": "billing", "uri": "304"}])


@pytest.mark.unit
@pytest.mark.parametrize("directory, said, name", [
    (OFFICE, "put me through to sales", "Sales"), (OFFICE, "put me through to the sales team", "Sales"),
    (OFFICE, "can I speak to someone in sales", "Sales"), (OFFICE, "but me through to sales please", "Sales"),
    (OFFICE, "put me through to sales to ask about my bill", "Sales"),
    (OFFICE, "Bob please, put me through", "Bob Smith"),
    (OFFICE, "I'd like to speak with Bob Smith", "Bob Smith"), (OFFICE, "connect me to accounts", "Alice Jones"),
    (OFFICE, "put me through to someone who handles billing", "Billing"), (OFFICE, "transfer me to support", "Support"),
    (CLINIC, "put me through to stella", "Dr Stella Moreno"),
    (CLINIC, "put me through to the doctor", "Dr Stella Moreno"),
    (CLINIC, "put me through to doctor moreno", "Dr Stella Moreno"), (CLINIC, "can I speak to reception", "Reception"),
    (CLINIC, "put me through to the hygienist", "Hygienist"), (CLINIC, "Please call Stella.", "Dr Stella Moreno"),
    (OFFICE, "could you ring Bob Smith for me", "Bob Smith"),
    (CLINIC, "can I talk to mx moreno", "Dr Stella Moreno"),  # a title other than theirs is a title, not a name
])
def test_a_name_said_in_its_own_words_is_put_through(directory, said, name):
    decision = directory.decide(said)
    assert decision is not None and decision.entry is not None and decision.entry.name == name
    assert not decision.confirm and name in decision.say


@pytest.mark.unit
def test_a_message_recipient_is_the_colleague_whose_name_is_said():
    named = {said: (e.name if (e := CLINIC.colleague(said)) is not None else None)
             for said in ("doctor or Moreno", "For Stella, please.", "the billing people", "the doctor",
                          "Priya Shah", "Stella or billing", "my husband", "Priya Moreno", "Sam Moreno, my son",
                          "For Stella, I will call her later")}
    assert named == {"doctor or Moreno": "Dr Stella Moreno", "For Stella, please.": "Dr Stella Moreno",
                     "the billing people": "Billing", "the doctor": None, "Priya Shah": None,
                     "Stella or billing": None, "my husband": None, "Priya Moreno": None,
                     "Sam Moreno, my son": None, "For Stella, I will call her later": None}


@pytest.mark.unit
@pytest.mark.parametrize("directory, said, name", [
    (OFFICE, "put me through to mail", "Sales"), (OFFICE, "put me through to jail", "Sales"),
    (OFFICE, "put me through to failed", "Sales"), (OFFICE, "put me through to cells", "Sales"),
    (OFFICE, "could you put me through to sails", "Sales"), (OFFICE, "put me through to Rob", "Bob Smith"),
    (OFFICE, "can I talk to rob", "Bob Smith"), (OFFICE, "put me through to john smith", "Bob Smith"),
    (OFFICE, "put me through to building", "Billing"), (OFFICE, "put me through to sport", "Support"),
    (OFFICE, "transfer me to the port", "Support"), (OFFICE, "put me through to alex", "Alice Jones"),
    (CLINIC, "put me through to della", "Dr Stella Moreno"), (CLINIC, "put me through to marino", "Dr Stella Moreno"),
    (CLINIC, "put me through to filling", "Billing"),
    (OFFICE, "just put me through to say, all's please.", "Sales"), (OFFICE, "put me through to sup port", "Support"),
])
def test_a_name_heard_alike_is_confirmed_first(directory, said, name):
    decision = directory.decide(said)
    assert decision is not None and decision.confirm and decision.entry is not None and decision.entry.name == name
    assert decision.say == CONFIRM_TEXT.format(name=name)


@pytest.mark.unit
@pytest.mark.parametrize("directory, said", [
    (OFFICE, "put me through to the kitchen"), (OFFICE, "put me through to the police"),
    (OFFICE, "put me through to a person"), (OFFICE, "put me through to the manager"),
    (OFFICE, "transfer me to sip:evil@x.example"), (OFFICE, "put me through to 555 0199"),
    (CLINIC, "put me through to the kitchen"), (CLINIC, "put me through to the nurse"),
])
def test_a_name_nobody_in_the_directory_has_is_refused_with_the_list(directory, said):
    decision = directory.decide(said)
    assert decision is not None and decision.entry is None and not decision.confirm
    assert directory.names() in decision.say


@pytest.mark.unit
@pytest.mark.parametrize("said", ["I need the bill", "I want to book a visit", "I want to talk to you about my boiler",
                                  "Can I talk to someone about a leak?", "I need a plumber", "can I get a quote",
                                  "I need to speak to the person in charge", "what are your opening hours",
                                  "can you call me back about my billing", "please ring us back, it's about sales",
                                  "call back later for support"])
def test_ordinary_requests_are_not_transfers(said):
    assert OFFICE.decide(said) is None


@pytest.mark.unit
def test_a_bare_name_is_a_request_when_the_bot_asked_whom_and_two_alike_are_confirmed():
    assert OFFICE.decide("billing please") is None
    decision = OFFICE.decide("no, billing", asked=True)
    assert decision is not None and decision.entry is not None and decision.entry.name == "Billing"
    decision = CLINIC.decide("Oh, then the hygiene is to please.", asked=True)  # "the hygienist", misheard
    assert decision is not None and decision.entry is not None and decision.entry.name == "Hygienist"
    twins = _directory([{"name": "Dr Stella Moreno", "department": "dentist", "uri": "301"},
                        {"name": "Dr James Okafor", "department": "dentist", "uri": "302"}])
    decision = twins.decide("put me through to the dentist")
    assert decision is not None and decision.confirm and decision.entry is not None
    assert twins.match("Moreno") is not None and twins.match("kitchen") is None


@pytest.mark.unit
def test_words_the_directory_itself_uses_are_names_there():
    office = _directory([{"name": "Priya Shah", "department": "office manager", "uri": "301"},
                         {"name": "Dave Kowalski", "department": "service engineers", "uri": "302"},
                         {"name": "Sales", "department": "sales", "uri": "303"}])
    for said, name, confirm in [("put me through to the office manager", "Priya Shah", False),
                                ("just put me through to say, all's please", "Sales", True),  # not "Shah"
                                ("can I speak to an engineer", "Dave Kowalski", False),
                                ("I need to talk to Mister Kovalsky", "Dave Kowalski", True),
                                ("could you connect me to Maria Shaw", "Priya Shah", True)]:
        decision = office.decide(said)
        assert decision is not None and decision.entry is not None, said
        assert (decision.entry.name, decision.confirm) == (name, confirm), said
    refused = OFFICE.decide("put me through to the manager")  # nobody in that directory is a manager
    assert refused is not None and refused.entry is None
