"""The caller's right to be forgotten, as a two-step spoken exchange that needs no model: ask, then confirm."""

from __future__ import annotations

import re
from dataclasses import dataclass

_ASK = re.compile(r"\b(forget (about )?me|forget everything|delete (all )?(of )?my (data|details|information)"
                  r"|erase (my|all my|everything)|remove my (data|details|information))\b", re.IGNORECASE)
_YES = re.compile(r"\b(yes|yeah|yep|sure|please do|go ahead|do it|correct|confirm(ed)?)\b", re.IGNORECASE)

CONFIRM_QUESTION = "Just to confirm: should I erase everything I know about you? Please say yes or no."
ERASED = "Done. I have erased everything I knew about you."
KEPT = "All right, I will keep your details."


@dataclass
class ForgetMe:
    pending: bool = False

    def answer(self, caller_text: str) -> tuple[str | None, bool]:
        """(the reply to say instead of the model's, or None; whether to erase now)."""
        if self.pending:
            self.pending = False
            return (ERASED, True) if _YES.search(caller_text) else (KEPT, False)
        if _ASK.search(caller_text):
            self.pending = True
            return CONFIRM_QUESTION, False
        return None, False
