"""What the bot understands of the business, built once per process and shared by every call: the profile's facts
and the forms' requests embedded by meaning, the conversational intents, and the operator's notifications.

Matching embeds one query with MiniLM (a few ms of CPU): the turn policy calls these methods in a worker thread.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from brain.intents import TurnIntents
from brain.knowledge import MIN_SCORE, FactFinder
from brain.meaning import MeaningIndex, keywords
from memory.caller_memory import CallerMemory
from memory.embeddings import Embedder
from sip_config import Config
from sip_config.schema import FormSettings

from .notify import Notifier, form_payload

log = logging.getLogger(__name__)

FORM_SURE = 0.55  # this close in meaning to a form's examples, a request starts the form
FORM_REQUEST = 0.40  # ... and this close, when it is worded as a request ("can someone come and fix it?")
FORM_UNSURE = 0.30  # ... this close, a statement gets the question "would you like me to book a visit?"
KNOWLEDGE_MIN_SIMILARITY = 0.5  # a knowledge-base sentence this close in meaning to a question answers it ...
KNOWLEDGE_PICKED_SIMILARITY = 0.4  # ... and this close, when the fact finder picks it too
# Asking for information ("do you fix boilers?") rather than for something to be done.
_QUESTION = re.compile(r"^\W*(?:so\s+|and\s+|um\s+|uh\s+|hi\W+|hello\W+)*(?:do|does|did|are|is|was|were|what|what's|"
                       r"how|when|where|which|who|why|have you|has)\b", re.IGNORECASE)
# Asking leave to do something: a question the facts may answer ("can I ring you on a Sunday?") or a request ("can
# I come in to have a tooth looked at?"); "can I book / get someone / leave a message" is a request.
_PERMISSION = re.compile(r"^\W*(?:so\s+|and\s+|um\s+|uh\s+|hi\W+|hello\W+)*(?:can|could|may) i\b"
                         r"(?! (?:get|have|book|leave|make|arrange|schedule|send|order|cancel)\b)", re.IGNORECASE)
_REQUEST = re.compile(r"\b(?:can|could|would|will)\s+(?:you|someone|somebody|anyone|one of you)\b|\bi(?:'d| would)"
                      r" like\b|\bi (?:want|need|wanna)\b|\bplease\b|\bi'm (?:calling|ringing) (?:to|about)\b"
                      r"|\bsend (?:someone|somebody|a)\b", re.IGNORECASE)

# Verbs too light to say which form a request is for ("take a look" is not "take a message").
_LIGHT_VERBS = frozenset("take make get have do give put go come see send leave let look".split())

_WH_WORD = re.compile(r"\b(?:what|when|how|where|which|who|why|until what|is there|are there)\b", re.IGNORECASE)


@dataclass(frozen=True)
class FormMatch:
    form: FormSettings
    sure: bool  # start it; else ask first
    facts_first: bool = False  # asked as leave to do something: a fact that answers it comes first


class Understanding:
    def __init__(self, config: Config, embedder: Embedder | None):
        self._config = config
        self._facts = FactFinder(embedder, list(config.profile.facts))
        self._intents = TurnIntents(embedder)
        self._embedder = embedder
        self.forms: tuple[FormSettings, ...] = tuple(config.forms)
        texts, self._form_of = [], []
        for form in self.forms:
            for text in (form.description, *form.examples):
                texts.append(text)
                self._form_of.append(form)
        self._form_index = MeaningIndex(embedder, texts)
        self._notifier = Notifier(config.notify)

    @property
    def message_form(self) -> FormSettings:
        """The form that takes a message ("take a message" by default): the one whose fields include a message."""
        for form in self.forms:
            if any(f.key == "message" for f in form.fields):
                return form
        return self.forms[-1]

    def intent(self, said: str) -> str | None:
        return self._intents.detect(said)

    def form_for(self, said: str) -> FormMatch | None:
        """The form a request asks for, by meaning: sure enough to start it, or only to ask. A question asking for
        information is left to the facts."""
        if _REQUEST.search(said) and not _WH_WORD.search(said):  # "I'd like to book a check-up": a request naming
            # what a form does (not "could you tell me how much a visit costs?")
            asked = keywords(said) - _LIGHT_VERBS
            named = [f for f in self.forms if keywords(f.name) & asked]
            if named:
                return FormMatch(max(named, key=lambda f: len(keywords(f.name) & asked)), True)
        match = self._form_index.best(said, FORM_UNSURE)
        if match is None:
            return None
        form = self._form_of[match.index]
        if match.score >= FORM_SURE and not _QUESTION.search(said):
            return FormMatch(form, True, facts_first=bool(_PERMISSION.search(said)))
        if _REQUEST.search(said) and match.score >= FORM_REQUEST and not _WH_WORD.search(said):
            return FormMatch(form, True)
        if _QUESTION.search(said):
            return FormMatch(form, False) if match.score >= FORM_SURE else None
        return FormMatch(form, False)

    def business_fact(self, question: str, memory: CallerMemory, follows: str = "") -> str | None:
        """The profile fact or knowledge-base sentence that answers the question by meaning (whichever answers it
        better, when both do); None when unsure. `follows`: the question a fact answered just before."""
        fact = self._facts.answer(question, follows)
        passage = self._knowledge(question, memory, follows) if memory.has_knowledge else None
        if passage is None or passage == fact or passage in self._config.profile.facts:
            return fact  # the profile's facts are judged by the fact finder alone
        if fact is None:
            return passage
        best = MeaningIndex(self._embedder, [fact, passage]).best(question, 0.0)
        return best.text if best is not None else fact

    def _knowledge(self, question: str, memory: CallerMemory, follows: str) -> str | None:
        """The knowledge-base sentence that answers the question. Among the sentences of the passages found for it,
        the one the fact finder picks, as it picks a profile fact (by meaning, the things named, keywords: "is there
        any warranty when you fit one?"), when no other is as good and its meaning is not far off
        (`KNOWLEDGE_PICKED_SIMILARITY`: not the warranty for "when can you fit a Vaillant?"); else the one
        closest in meaning, if close enough (`KNOWLEDGE_MIN_SIMILARITY`)."""
        found = dict(memory.knowledge_sentences(question))
        if not found or all(text in self._config.profile.facts for text in found):
            return None  # only the profile's facts, which the fact finder has judged already (`business_fact`)
        ranked = FactFinder(self._embedder, list(found)).ranked(question, 2, follows)
        if (ranked and ranked[0].score >= MIN_SCORE and (len(ranked) == 1 or ranked[1].score < ranked[0].score)
                and found[ranked[0].text] >= KNOWLEDGE_PICKED_SIMILARITY):
            return ranked[0].text
        text = max(found, key=found.__getitem__)
        return text if found[text] >= KNOWLEDGE_MIN_SIMILARITY else None

    def fact_about(self, description: str) -> str | None:
        """The profile fact about the problem a caller describes, if one is (see `FactFinder.about`)."""
        return self._facts.about(description)

    def caller_fact(self, question: str, sentences: Sequence[str]) -> str | None:
        return FactFinder(self._embedder, list(sentences)).answer(question)

    def is_question(self, said: str) -> bool:
        """Asking for information ("do you fix boilers?", "how much is it?"), not giving it or asking for action."""
        if _REQUEST.search(said):
            return False
        return bool(_QUESTION.search(said) or _WH_WORD.search(said)) or said.rstrip().endswith("?")

    def notify(self, form: str, values: dict[str, str], call_id: int | None, memory: CallerMemory) -> None:
        """Tell the operator of a completed form (command or webhook, retried), without holding up the call."""
        caller = memory.caller_user if memory.remembers else ""
        self._notifier.submit(form_payload(form, call_id, caller, values))

    async def close(self) -> None:
        """At shutdown: give notifications in flight a moment to go out."""
        await self._notifier.close()
