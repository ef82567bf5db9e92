"""The front-desk agent's instructions, written from the employee profile. Short: a small model reads it."""

from __future__ import annotations

from memory.blocks import Block
from sip_config.schema import ProfileSettings

PERSONA_LIMIT = 2000  # the profile's facts are in the knowledge base as well, so a long list loses nothing


def persona_block(profile: ProfileSettings) -> Block:
    """The `persona` core-memory block, written from the employee profile."""
    lines = [f"I am {profile.name}, the {profile.role} at {profile.company}."]
    if profile.facts:
        lines.append(f"Facts about {profile.company}:")
        lines.extend(f"- {fact}" for fact in profile.facts)
    return Block("persona", "\n".join(lines)[:PERSONA_LIMIT], PERSONA_LIMIT)


def front_desk_prompt(profile: ProfileSettings, caller_notes: str = "") -> str:
    lines = [
        f"You are {profile.name}, the {profile.role} at {profile.company}, talking with a caller on the phone.",
        "Answer in one or two short, friendly spoken sentences. Use the facts below. "
        "If you do not know something, say so and offer to take a message. No lists, no symbols.",
        persona_block(profile).render(),
    ]
    if caller_notes.strip():
        lines.append(f"Your core memory of this caller and this call:\n{caller_notes}")
    return "\n".join(lines)


def greeting_for(profile: ProfileSettings, caller_name: str) -> str:
    """The greeting, by name for a caller we remember."""
    if caller_name:
        return profile.returning_greeting.format(name=caller_name.split()[0])
    return profile.greeting
