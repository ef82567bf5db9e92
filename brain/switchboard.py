"""The switchboard: requests to be put through to someone, answered from the transfer directory only.

Deterministic on purpose: whatever the model writes or the caller asks, a transfer target can only ever be an
entry of the configured directory, so neither can make the bot dial an arbitrary number.

The name asked for is matched by its words (stemmed: "the sales team", "someone in billing"), and, since a
telephone line and a small recogniser garble names ("sales" heard as "mail", "jail" or "cells"; "Bob" as "Rob"), by
spelling and by sound (`brain.phonetic`). A match by words alone is put through; a match by spelling or sound is
confirmed first ("Sales, is that right?"), as a receptionist who is unsure asks. Pure string work, microseconds:
safe to call on the event loop; a `Directory` is immutable and shared by all calls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from autogen_core.tools import FunctionTool

from sip_config.schema import DirectoryEntry, TransferSettings

from .fields import HONORIFICS
from .meaning import content_words, edit_distance, stem
from .phonetic import sound_similarity, spelling_similarity

# What the bot asks when it is unsure which entry was meant (the caller's yes puts the call through).
CONFIRM_TEXT = "{name}, is that right?"
SOUND_MIN = 0.78  # a word this alike in sound to an entry's word (phonetic.sound_similarity) is worth asking about
# ... or one letter apart ("Rob" for "Bob"), or two in a long word: see `meaning.spelled_alike`

# Asking for a transfer in so many words: refused when nobody in the directory matches.
# ("me through" alone, since speech recognition hears "put me through" as "but me through" often enough).
_STRONG = re.compile(r"\b(?:put|patch|get|pass) (?:me )?(?:through|thru|over)\b|\bme (?:through|thru)\b"
                     r"|\btransfer (?:me|my call|this call|the call)\b|\bconnect me\b|\bforward (?:me|my call)\b",
                     re.IGNORECASE)
# Asking to talk to someone: a transfer only when a directory entry is named ...
_TALK = re.compile(r"\b(?:speak|talk|chat) (?:to|with)\b", re.IGNORECASE)
# ... and, for these looser words, only when it is named exactly ("I need the bill" is not "Billing").
_WEAK = re.compile(r"\b(?:get|reach|want|need|(?:call|ring)(?! (?:me|us|you|back|him|her|them|it)\b))"
                   r" (?:the |a |an )?\b", re.IGNORECASE)
_NOT_A_NAME = re.compile(r"\d[\d\s\-]{2,}\d|\bextension\b|@|\bsip\b|\bhttps?\b|\btel\b", re.IGNORECASE)
# Words around a name that are not part of it.
_FILLER = frozenset(
    "the a an to in of from at department team desk office please someone somebody anyone anybody whoever "
    "person people human and for me with on your you my our over there then now just "
    "thanks thank could can would will i i'd like want need speak talk um uh er oh ok okay yes yeah right "
    "manager boss owner staff colleague real actual no who that which is are does do "
    "handles handle deals deal works work looks look after charge responsible".split()) | frozenset(HONORIFICS)
# Where the name asked for ends: "put me through to billing *about* my invoice".
_END = frozenset("about regarding because cause since as so if to ask tell please".split())
_ARTICLES = frozenset("the a an of and in for to at".split())


@dataclass(frozen=True)
class TransferDecision:
    entry: DirectoryEntry | None  # None: refused (nobody in the directory matches)
    say: str
    confirm: bool = False  # "ask first": `say` asks whether `entry` is the one meant; a yes puts the call through


@dataclass(frozen=True)
class _Candidate:
    entry: DirectoryEntry
    score: float  # 1.0 for the entry's own words, less for words alike in spelling or sound
    sure: bool  # every word of the name asked for is one of the entry's own


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def _name_words(text: str, own: frozenset[str] = frozenset()) -> list[str]:
    """The words that may name someone: not fillers, unless the directory uses them ("office manager")."""
    return [w for w in _words(text) if (w not in _FILLER or w in own) and len(w) > 1]


class Directory:
    def __init__(self, settings: TransferSettings, domain: str = ""):
        self._settings = settings
        self.entries = settings.directory
        self._domain = domain
        # The directory's own words, and per entry: its name's words, its department's, its title ("Dr": dr).
        self._own = frozenset(w for e in self.entries for w in _words(f"{e.name} {e.department}")
                              if w not in _ARTICLES and w not in HONORIFICS)
        self._keys = [(_name_words(e.name, self._own), _name_words(e.department, self._own),
                       {HONORIFICS[w] for w in _words(e.name) if w in HONORIFICS}) for e in self.entries]

    def uri_of(self, entry: DirectoryEntry) -> str:
        """The SIP URI to dial for a directory entry (an extension lives at the registrar's domain)."""
        if entry not in self.entries:
            raise ValueError("not a directory entry")
        return f"sip:{entry.uri}@{self._domain}" if entry.uri.isdigit() else entry.uri

    def by_name(self, name: str) -> DirectoryEntry | None:
        return next((e for e in self.entries if e.name.lower() == name.lower()), None)

    def by_uri(self, uri: str) -> DirectoryEntry | None:
        """The entry a SIP URI or user belongs to (who transferred a call to us, for instance)."""
        user = uri.split(":", 1)[-1].split("@", 1)[0].lower()
        for entry in self.entries:
            target = self.uri_of(entry).split(":", 1)[-1].split("@", 1)[0].lower()
            if user and user == target:
                return entry
        return None

    def match(self, phrase: str) -> DirectoryEntry | None:
        """The entry whose name or department the phrase names in its own words, e.g. 'sales', 'Bob', 'the
        billing team'; None when none does (a name only alike in sound is not enough here)."""
        best = self._best(phrase)
        return best.entry if best is not None else None

    def colleague(self, phrase: str) -> DirectoryEntry | None:
        """The one entry whose name the phrase says, every word of it that may name someone being one of the
        entry's name words ("for doctor or Okafor", as a recogniser writes "for Doctor Okafor"; not "Priya Moreno",
        "Sam Okafor, my son"); None when no entry, or several, fits. For the recipient of a message, never for
        dialling."""
        said = {w for w in content_words(phrase) if w not in _FILLER and w not in HONORIFICS}
        hits = [e for e, (name, _, _) in zip(self.entries, self._keys, strict=True) if said and said <= set(name)]
        return hits[0] if len(hits) == 1 else None

    def colleague_name(self, phrase: str) -> str:
        """The name of `colleague(phrase)` as the directory writes it, "" when none."""
        entry = self.colleague(phrase)
        return entry.name if entry is not None else ""

    def __deepcopy__(self, memo: dict) -> Directory:
        return self  # immutable after construction: a form's copy (a turn's checkpoint) shares it

    def names(self) -> str:
        labels = [e.name + (f" in {e.department}" if e.department and e.department.lower() not in e.name.lower()
                            else "") for e in self.entries]
        if not labels:
            return "nobody, I'm afraid: I can't transfer calls"
        return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " or " + labels[-1]

    def decide(self, caller_text: str, asked: bool = False) -> TransferDecision | None:
        """A transfer, a question to confirm one, or a refusal, when the caller asks to be put through; None for
        anything else. `asked`: the bot has just asked whom the caller wants, so a bare name is a request."""
        strong, talk, weak = _STRONG.search(caller_text), _TALK.search(caller_text), _WEAK.search(caller_text)
        cue = strong or talk or weak
        if cue is None and not asked:
            return None
        target = _target(caller_text[cue.end():] if cue is not None else caller_text)
        before = _target(caller_text[:cue.start()]) if cue is not None else ""
        if cue is not None and not _name_words(target, self._own) and _name_words(before, self._own):
            target = before  # "Bob, please: put me through"
        refused = TransferDecision(None, self._settings.refused_text.format(names=self.names()))
        if _NOT_A_NAME.search(target):
            return refused if strong or asked else None
        loose = cue is weak and not asked  # "I need the ...": only the entry's own words, unstemmed
        best = self._best(target, fuzzy=not loose, stems=not loose)
        if best is None:
            return refused if strong else None
        if best.sure:
            return TransferDecision(best.entry, self._settings.announce_text.format(name=best.entry.name))
        return TransferDecision(best.entry, CONFIRM_TEXT.format(name=best.entry.name), confirm=True)

    def _best(self, phrase: str, fuzzy: bool = False, stems: bool = True) -> _Candidate | None:
        asked = _name_words(phrase, self._own)
        if not asked:  # "the doctor": a title alone names the one entry that has it
            titles = {HONORIFICS[w] for w in _words(phrase) if w in HONORIFICS}
            titled = [e for e, (_, _, title) in zip(self.entries, self._keys, strict=True) if titles & title]
            return _Candidate(titled[0], 1.0, len(titled) == 1) if titled else None
        candidates = [c for c in (self._candidate(i, asked, fuzzy, stems) for i in range(len(self.entries)))
                      if c is not None]
        pieces = [w for w in _words(phrase) if w not in _FILLER or w in self._own]
        if fuzzy and 2 <= len(pieces) <= 3 and not any(c.sure for c in candidates):
            glued = ["".join(pieces)]  # one word heard as two: "say, all's" for "sales" (asked about, never sure)
            candidates += [_Candidate(c.entry, c.score, False) for c in
                           (self._candidate(i, glued, fuzzy, stems) for i in range(len(self.entries)))
                           if c is not None]
        candidates.sort(key=lambda c: (c.sure, c.score), reverse=True)
        if not candidates:
            return None
        best = candidates[0]
        if len(candidates) > 1 and (candidates[1].sure, candidates[1].score) == (best.sure, best.score):
            return _Candidate(best.entry, best.score, False)  # two dentists: ask about the first
        return best

    def _candidate(self, i: int, asked: list[str], fuzzy: bool, stems: bool) -> _Candidate | None:
        """How well the words asked for name entry i (its name's words count double its department's)."""
        name, department, _ = self._keys[i]
        owned = [*((w, 2.0) for w in name), *((w, 1.0) for w in department)]
        likeness = [max((_likeness(word, own, fuzzy, stems) * weight for own, weight in owned), default=0.0)
                    for word in asked]
        if not any(likeness):
            return None
        sure = all(any(_likeness(word, own, False, stems) == 1.0 for own, _ in owned) for word in asked)
        return _Candidate(self.entries[i], sum(likeness) / len(asked), sure)


def _likeness(word: str, own: str, fuzzy: bool, stems: bool) -> float:
    """1.0: the entry's own word; below 1: alike enough in sound or spelling to ask about; 0: not alike."""
    if word == own or stems and stem(word) == stem(own):
        return 1.0
    if not fuzzy:
        return 0.0
    sound = sound_similarity(word, own)
    spelling = spelling_similarity(word, own) if _one_slip(word, own) else 0.0
    return min(0.99, max(sound, spelling)) if sound >= SOUND_MIN or spelling else 0.0


def _one_slip(word: str, own: str) -> bool:
    """A letter wrong in a name of 3 letters or more, or two in one of 7 ("Rob" for "Bob")."""
    allowed = 2 if min(len(word), len(own)) >= 7 else 1 if min(len(word), len(own)) >= 3 else 0
    return allowed > 0 and edit_distance(word, own, allowed) <= allowed


def _target(text: str) -> str:
    """The words naming whom the caller asks for: up to the first word that starts something else."""
    kept: list[str] = []
    for word in _words(text):
        if word in _END and kept:
            break
        kept.append(word)
    return " ".join(kept)


class TransferRequest:
    """The `transfer_call` tool for models that can call tools, and the transfer it asked for.

    The tool only names a directory entry (matched like a caller's words, never a number); the conductor carries
    the transfer out once the model's reply has been heard. The switchboard in code still comes first, so a
    capable model adds the requests it does not catch ("my boiler is leaking, who handles emergencies?").
    """

    def __init__(self, directory: Directory):
        self._directory = directory
        self.entry: DirectoryEntry | None = None

    def tool(self) -> FunctionTool:
        def transfer_call(person_or_department: str) -> str:
            """Put the caller through to a colleague or department from the company directory."""
            entry = None if _NOT_A_NAME.search(person_or_department) else self._directory.match(person_or_department)
            if entry is None:
                return f"Not in the directory. You can only put callers through to {self._directory.names()}."
            self.entry = entry
            return f"The caller will be put through to {entry.name} when you finish. Tell them so in one sentence."

        return FunctionTool(transfer_call, description=transfer_call.__doc__ or "transfer_call")

    def take(self) -> DirectoryEntry | None:
        """The entry asked for since the last take, if any (and forget it)."""
        entry, self.entry = self.entry, None
        return entry
