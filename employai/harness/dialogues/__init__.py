"""Scripted telephone callers for `employai eval conversation`, per profile: the dialogues, the extra bot
configuration each profile needs, and the two dialogues of a `--quick` run."""

from __future__ import annotations

from dataclasses import dataclass

from . import dental, plumbing
from .script import Dialogue


@dataclass(frozen=True)
class Profile:
    name: str
    about: str
    bot_toml: str  # appended to the eval bot's configuration (its [sip] and [data] are the launcher's)
    dialogues: tuple[Dialogue, ...]
    quick: tuple[str, ...]

    def dialogue(self, name: str) -> Dialogue:
        return next(d for d in self.dialogues if d.name == name)


def profiles() -> dict[str, Profile]:
    return {
        "default": Profile("default", "Acme Plumbing: the embedded defaults, plus a transfer directory",
                           plumbing.BOT_TOML, plumbing.DIALOGUES, plumbing.QUICK),
        "dental": Profile("dental", "Brightsmile Dental: tests/data/dental.toml",
                          dental.PROFILE_FILE.read_text(encoding="utf-8"), dental.DIALOGUES, dental.QUICK),
    }
