"""What the bot knows about the call itself: direction, who is on the line, how they reached us (a transfer from
a colleague), and the purpose of an outbound call. Rendered as the per-call `call` core-memory block, used for
the greeting, and stored with the call record."""

from __future__ import annotations

from dataclasses import dataclass

from brain.switchboard import Directory
from memory.blocks import Block
from sip_config.schema import ProfileSettings
from telephony import CallerIdentity, IncomingCall
from telephony.headers import TransferredFrom, normalise_user

CALL_BLOCK_LIMIT = 600


@dataclass(frozen=True)
class CallContext:
    direction: str  # "inbound" | "outbound"
    remote: CallerIdentity
    sip_call_id: str = ""
    transferred_from: TransferredFrom | None = None
    referrer: str = ""  # how the greeting names whoever passed the call over: "Bob in sales"
    task: str = ""  # the purpose of an outbound call
    scheduled_id: int | None = None

    @classmethod
    def inbound(cls, invite: IncomingCall, directory: Directory) -> CallContext:
        """Transfer headers from an untrusted source are kept on the record as claims, never said or prompted."""
        source = invite.transferred_from
        referrer = referrer_label(source, directory) if source is not None and source.verified else ""
        return cls("inbound", invite.caller, invite.call_id, source, referrer)

    @classmethod
    def outbound(cls, uri: str, task: str, scheduled_id: int | None = None) -> CallContext:
        """A call we place reaches the number we chose: that identity is ours, so it counts as verified."""
        return cls("outbound", CallerIdentity(uri=uri, user=normalise_user(uri), verified=True), task=task,
                   scheduled_id=scheduled_id)

    def block(self) -> Block:
        lines = []
        who = self.remote.display_name or self.remote.user or "a caller who withheld their number"
        if self.direction == "outbound":
            lines.append(f"You called {who}.")
            if self.task:
                lines.append(f"Purpose of this call: {self.task}")
        else:
            # Caller ID from outside the trusted proxies is a claim: kept out of the model's instructions.
            lines.append(f"Caller: {who}." if self.remote.verified else "Caller: not verified (caller ID is a claim).")
            if self.referrer:  # only ever from a trusted proxy
                lines.append(f"{self.referrer} transferred this caller to you.")
        return Block("call", "\n".join(lines)[:CALL_BLOCK_LIMIT], CALL_BLOCK_LIMIT)


def referrer_label(source: TransferredFrom | None, directory: Directory) -> str:
    """'Bob in sales': the transferring party's name, with their department when the directory knows them."""
    if source is None:
        return ""
    entry = directory.by_uri(source.uri)
    name = source.display_name or (entry.name if entry else "") or source.user or "a colleague"
    department = entry.department if entry else ""
    if department and department.lower() not in name.lower():
        return f"{name} in {department}"
    return name


def opening_line(context: CallContext, profile: ProfileSettings, greeting: str, intro_text: str) -> str:
    """The first thing the bot says: the greeting, acknowledging a transfer; or, calling out, who it is and why."""
    if context.direction == "outbound":
        task = context.task.rstrip(".") or "a follow-up"
        return intro_text.format(bot=profile.name, company=profile.company, task=task)
    if context.referrer:
        hello, _, rest = greeting.partition(". ")
        return f"{hello}. I understand {context.referrer} passed you over. {rest or 'How can I help you today?'}"
    return greeting
