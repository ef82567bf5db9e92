"""Built-in example phrasings: what a caller means by a short turn (goodbye, robot, repeat), and the kinds of
question a front desk gets (hours, prices, ...; used by `brain.knowledge`).

`TurnIntents(embedder).detect(text)` names the conversational intent of a caller's turn, or None. Telephone
transcripts are short, lower-case and misheard, so a few strong cues decide first ("bye", "are you a robot") and
a few vetoes guard the near misses ("don't hang up", "bye the way", "I'm not a robot"); the rest is matched by
meaning against the examples. A wrong goodbye hangs up on the caller, so goodbye asks most: a cue or a close
example, and nothing else in the turn (a question, a request). Immutable after construction, safe to share
between threads; `detect` costs one embedding call, CPU work to run off the event loop (asyncio.to_thread).
"""

from __future__ import annotations

import re

from memory.embeddings import Embedder

from .meaning import Intents

GOODBYE, ROBOT, REPEAT = "goodbye", "robot", "repeat"

CONVERSATION: dict[str, tuple[str, ...]] = {
    GOODBYE: ("Thank you, goodbye.", "Thanks, bye.", "That's all I needed, thank you.", "Okay, bye now.",
              "Great, thanks for your help, bye.", "No, that's everything, thanks.", "Have a nice day, bye.",
              "Cheers, see you.", "That's it, thank you very much.", "Alright, talk to you later.",
              "I'm done, thanks.", "Nothing else, goodbye.", "Take care, bye.", "Speak soon, bye bye."),
    ROBOT: ("Are you a robot?", "Am I talking to a real person?", "Is this a machine?", "Are you human?",
            "Are you an AI?", "Is this an automated system?", "Am I speaking to a computer?",
            "Are you a bot?", "Is this a recording?", "Are you a real receptionist?", "Is this artificial "
            "intelligence?", "Are you a person or a program?"),
    REPEAT: ("Sorry, can you say that again?", "Pardon?", "What did you say?", "Could you repeat that?",
             "I didn't catch that.", "Sorry, what was that?", "Come again?", "Say that one more time, please.",
             "I missed that, sorry.", "Can you repeat the last part?", "Sorry, I couldn't hear you.",
             "What was that again?"),
}

# The kinds of question a front desk gets, with questions and the statements that answer them: a question and a
# fact of the same kind are about the same thing though they share no words (`brain.knowledge`).
TOPICS: dict[str, tuple[str, ...]] = {
    "hours": ("When are you open?", "What are your opening hours?", "What time do you close?",
              "Are you open at the weekend?", "Are you open today?", "What days are you open?",
              "How late are you open?", "What time do you open in the morning?", "Are you open on bank holidays?",
              "Can I come in on a Saturday?", "Are you closed on Mondays?", "When do you shut?",
              "We are open from nine to five.", "Our opening hours are weekdays."),
    "price": ("How much does it cost?", "What do you charge?", "What are your prices?", "Is there a fee?",
              "How expensive is it?", "How much will I have to pay?", "How much is it?",
              "How much would that be?", "What's the cost of a visit?", "What's the price for that?",
              "Is it free?", "How much do you charge per hour?", "Do you charge for that?",
              "What would that cost me?", "It costs fifty dollars.",
              "The fee is one hundred dollars."),
    "services": ("What do you do?", "What services do you offer?", "What can you help me with?",
                 "What sort of jobs do you take on?", "Do you do repairs?", "Can you fix it?",
                 "Is that something you can help with?", "Do you handle that kind of problem?",
                 "What do you specialise in?", "Can you sort out a problem for me?", "What treatments do you do?",
                 "We repair and install things.", "Our services include repairs and maintenance."),
    "location": ("Where are you?", "What's your address?", "How do I find you?", "Where is your office?",
                 "Where are you based?", "Which part of town are you in?", "We are at 12 Main Street."),
    "travel": ("Is there parking?", "Where can I park?", "Can I get there by bus or train?", "Is it easy to park?",
               "What's the nearest station?", "There is a car park next door."),
    "payment": ("Do you take cards?", "Can I pay by cash?", "Do you accept insurance?",
                "Which payment methods do you accept?", "Is it covered by my insurance?", "Can I pay later?",
                "We accept credit cards and insurance."),
    "appointments": ("Can I book an appointment?", "Do you handle emergencies?", "Can someone come today?",
                     "How soon can you see me?", "I need someone urgently.", "Do you have anything free this week?",
                     "It's an emergency, can you help?", "We can see urgent cases the same day."),
    "contact": ("What's your email?", "What's your phone number?", "Do you have a website?",
                "How can I get in touch?", "You can email us at info."),
    "records": ("What's my reference?", "What name have you got on file?", "What number do you have on file for me?",
                "Remind me of my details.", "What did I give you last time?", "Your reference number is 1234."),
}

# Cues strong enough to decide alone, and the near misses that are not the intent.
_GOODBYE_CUE = re.compile(r"\b(?:good ?bye|bye(?: bye)?|see you(?: later| soon)?|take care|ta ?ta|have a (?:good|nice"
                          r"|great|lovely) (?:day|one|evening|weekend))\b")
# "bye" as a narrowband line and a small Whisper write it, ending a turn that thanks or is done ("that's everything,
# chairs by"): not a goodbye alone ("I'll pay by card"), only in a closing turn.
_BYE_HEARD_AS = re.compile(r"\b(?:by|buy|bi|bye)(?: now| then| bye| by)?$")
_THANKS = re.compile(r"\b(?:thanks|thank you|cheers|much appreciated)\b")
_DONE = re.compile(r"\b(?:that'?s|that is|thats) (?:all|it|everything)\b|\bnothing else\b|\ball (?:sorted|good|done)\b"
                   r"|\bi'?m (?:all )?(?:done|sorted|good)\b")
# What makes a turn more than a goodbye: a question, a request, one more thing ("bye the way, ...").
_GOODBYE_VETO = re.compile(r"\b(?:don'?t (?:hang up|go)|do not (?:hang up|go)|not yet|wait|before you go|hang on"
                           r"|hold on|by the way|bye the way|also|another|one more|(?:can|could|would|will) (?:you|i"
                           r"|someone|somebody)|need (?:a|an|to|the|someone|somebody|you)"
                           r"|(?:say|said|says|saying) (?:good ?)?bye|(?:good ?)?bye to)\b")
# ... and, for a turn without a goodbye in so many words, any question word.
_QUESTION_WORD = re.compile(r"\b(?:how|what|when|where|why|which|who|don'?t|actually|but|before)\b")
_ROBOT_CUE = re.compile(r"\b(?:are you|is this|am i (?:talking|speaking) (?:to|with)|you'?re)(?: just)?"
                        r"(?: an?| the)?(?: real| actual| live)? (?:real|human|person|robot|bot|chatbot|machine"
                        r"|computer|ai|a i|automated|artificial|answering machine|program|voice assistant)\b"
                        r"|\b(?:is this|are you)(?: just)? (?:an? recording|a recorded (?:message|voice))\b")
_ROBOT_VETO = re.compile(r"\b(?:i'?m|i am|im) (?:not )?(?:a |an )?(?:real |actual )?(?:robot|bot|human|person|"
                         r"customer|machine)\b|\brobot (?:vacuum|hoover|mower|cleaner|lawnmower)\b"
                         r"|\bmy (?:robot|computer|machine)\b")
_REPEAT_CUE = re.compile(r"^(?:(?:sorry|pardon|pardon me|what|huh|eh|excuse me|come again)\s?)+$"
                         r"|\b(?:say|repeat) (?:that|it|this|the last)\b|\bcome again\b|^what was that\b"
                         r"|\bdidn'?t (?:catch|hear|get) (?:that|you|it|what)\b|\bwhat did you (?:just )?say\b"
                         r"|\bcould(?:n'?t| not) hear\b|\bone more time\b|\bsay again\b"
                         r"|^(?:sorry )?(?:repeat|once more)(?: that| it| please)*$")
_REPEAT_VETO = re.compile(r"\brepeat (?:prescription|order|booking|visit|customer|job|appointment)\b")
_WORDS = re.compile(r"[a-z']+")

MIN_SCORE = 0.6  # calibrated on MiniLM: what means an intent scores this or more with one of its examples ...
MARGIN = 0.05  # ... and this much more than with any other intent
_GOODBYE_MAX_WORDS = 12  # a long turn is never only a goodbye
_AFTER_GOODBYE = 4  # nor one that goes on after its goodbye ("I said goodbye to my old plumber")


def _normal(text: str) -> str:
    return " ".join(_WORDS.findall(text.lower().replace("good-bye", "goodbye").replace("-", " ")))


class TurnIntents:
    """The conversational intent of a caller's turn: "goodbye", "robot", "repeat", or None."""

    def __init__(self, embedder: Embedder | None):
        self._intents = Intents(embedder, CONVERSATION, MIN_SCORE, MARGIN) if embedder is not None else None

    def detect(self, text: str) -> str | None:
        """The intent, or None for anything else (a question, a request, a near miss)."""
        plain = _normal(text)
        if not plain:
            return None
        robot_vetoed = bool(_ROBOT_VETO.search(plain))
        if _ROBOT_CUE.search(plain) and not robot_vetoed:
            return ROBOT
        if _REPEAT_CUE.search(plain) and not _REPEAT_VETO.search(plain):
            return REPEAT
        goodbye_vetoed = "?" in text or bool(_GOODBYE_VETO.search(plain)) or len(plain.split()) > _GOODBYE_MAX_WORDS
        closing = bool(_DONE.search(plain) or _THANKS.search(plain))
        if not goodbye_vetoed and (_goodbye_at_end(plain) or _DONE.search(plain) and _THANKS.search(plain)
                                   or closing and _BYE_HEARD_AS.search(plain)):
            return GOODBYE
        found = self._intents.classify(text) if self._intents is not None else None  # no model: the cues only
        if found is None or found[0] == ROBOT and robot_vetoed:
            return None
        if found[0] == GOODBYE and (goodbye_vetoed or _QUESTION_WORD.search(plain)):
            return None
        return found[0]


def _goodbye_at_end(plain: str) -> bool:
    """A goodbye cue with little or nothing after it ("bye now then", not "bye, my boiler is leaking")."""
    ends = [cue.end() for cue in _GOODBYE_CUE.finditer(plain)]
    return bool(ends) and len(plain[ends[-1]:].split()) <= _AFTER_GOODBYE
