"""The switchboard: requests to be put through to someone, answered from the transfer directory only.

Deterministic on purpose: whatever the model writes or the caller asks, a transfer target can only ever be an
entry of the configured directory, so neither can make the bot dial an arbitrary number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from autogen_core.tools import FunctionTool

from sip_config.schema import DirectoryEntry, TransferSettings

# Asking for a transfer in so many words: refused when nobody in the directory matches.
# ("me through" alone, since speech recognition hears "put me through" as "but me through" often enough).
_STRONG = re.compile(r"\b(?:put|patch|get) (?:me )?(?:through|thru|over)\b|\bme (?:through|thru)\b"
                     r"|\btransfer (?:me|my call|this call)\b|\bconnect me\b|\bforward (?:me|my call)\b",
                     re.IGNORECASE)
# Asking to talk to someone: a transfer only when a directory entry is named.
_WEAK = re.compile(r"\b(?:speak|talk|chat) (?:to|with)\b|\b(?:get|reach|want|need) (?:the |a |an )?\b",
                   re.IGNORECASE)
_DIGITS = re.compile(r"\d[\d\s\-]{2,}\d|\bextension\b", re.IGNORECASE)
_FILLER = {"the", "a", "an", "to", "in", "of", "department", "team", "please", "someone", "somebody", "desk", "mr",
           "mrs", "ms", "dr", "and", "for", "me", "with"}


@dataclass(frozen=True)
class TransferDecision:
    entry: DirectoryEntry | None  # None: refused (nobody in the directory matches)
    say: str


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]+", text.lower()) if w not in _FILLER and len(w) > 1}


class Directory:
    def __init__(self, settings: TransferSettings, domain: str = ""):
        self._settings = settings
        self.entries = settings.directory
        self._domain = domain

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
        """The entry whose name or department the phrase names, e.g. 'sales', 'Bob', 'the billing team'."""
        words = _words(phrase)
        best, best_score = None, 0
        for entry in self.entries:
            name, department = _words(entry.name), _words(entry.department)
            score = 2 * len(words & name) + len(words & department)
            if score > best_score:
                best, best_score = entry, score
        return best

    def names(self) -> str:
        labels = [e.name + (f" in {e.department}" if e.department and e.department.lower() not in e.name.lower()
                            else "") for e in self.entries]
        if not labels:
            return "nobody, I'm afraid: I can't transfer calls"
        return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " or " + labels[-1]

    def decide(self, caller_text: str) -> TransferDecision | None:
        """A transfer (or its refusal) when the caller asks to be put through; None for anything else."""
        strong = _STRONG.search(caller_text)
        weak = _WEAK.search(caller_text)
        if not strong and not weak:
            return None
        start = (strong or weak).end()
        target = caller_text[start:]
        entry = None if _DIGITS.search(target) else self.match(target)
        if entry is not None:
            return TransferDecision(entry, self._settings.announce_text.format(name=entry.name))
        if strong:
            return TransferDecision(None, self._settings.refused_text.format(names=self.names()))
        return None


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
            entry = None if _DIGITS.search(person_or_department) else self._directory.match(person_or_department)
            if entry is None:
                return f"Not in the directory. You can only put callers through to {self._directory.names()}."
            self.entry = entry
            return f"The caller will be put through to {entry.name} when you finish. Tell them so in one sentence."

        return FunctionTool(transfer_call, description=transfer_call.__doc__ or "transfer_call")

    def take(self) -> DirectoryEntry | None:
        """The entry asked for since the last take, if any (and forget it)."""
        entry, self.entry = self.entry, None
        return entry
