"""What the console reads of the running bot: a narrow, declared interface (the bot implements it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from telephony.account import RegistrationState


@dataclass(frozen=True)
class LiveCall:
    """A call on the line now."""

    call_id: int | None  # its calls row (None until the record opens)
    direction: str  # "inbound" | "outbound"
    caller: str  # the caller ID's user part, or "" when withheld
    reached_by: str  # how the call reached us: "dialled in", "transferred by ...", "scheduled call 3"
    since: float  # epoch seconds
    busy: bool  # told the lines are busy


class BotState(Protocol):
    """Read on the event loop only."""

    def live_calls(self) -> list[LiveCall]: ...
    def registration_state(self) -> RegistrationState: ...
    def hang_up(self, call_id: int) -> bool: ...  # say goodbye and end the call; False when it is not on the line
    def transfer(self, call_id: int, entry: str) -> bool: ...  # to a directory entry; False: no such call or entry
    def knowledge_changed(self) -> None: ...  # a document added or removed: the bot's speech prompt follows
