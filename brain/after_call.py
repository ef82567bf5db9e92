"""The after-call half of the agent team: a memory keeper and a task agent, AutoGen AgentChat `AssistantAgent`s
taking turns in a `RoundRobinGroupChat` over the finished call's transcript.

The memory keeper refines the caller's `human` block with what the deterministic extractor cannot catch
("my dog Rex chews the pipes"); the task agent lists what the business promised to do. Neither can invent: a
fact is kept only when its words were said by the caller, a task only when it shares words with them. Runs
off the hot path, after the call, and only for models able to do it (`memory.after_call_llm`); the bundled
135M model relies on the deterministic extractor and the in-call task detection instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.base import ChatAgent, Team
from autogen_agentchat.conditions import MaxMessageTermination
from autogen_agentchat.messages import TextMessage
from autogen_agentchat.teams import RoundRobinGroupChat
from autogen_core.models import ChatCompletionClient

from memory.extractor import Fact, normalise_numbers
from memory.stopwords import STOP_WORDS
from sip_config.schema import ProfileSettings

MAX_FACTS = 6
MAX_TASKS = 3
_FACT_LINE = re.compile(r"^\s*[-*]?\s*([A-Za-z][A-Za-z ]{1,30}):\s*(.{1,80}?)\s*$")
_NOT_KEYS = {"caller", "user", "assistant", "transcript", "task", "note", "notes", "what we know already"}
_TASK_LINE = re.compile(r"^\s*[-*]?\s*TASK:\s*(.{4,200}?)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class CallReview:
    facts: list[Fact]
    tasks: list[str]


def _content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", normalise_numbers(text).lower()) if w not in STOP_WORDS
            and (len(w) > 2 or w.isdigit())}


def grounded_facts(reply: str, caller_words: set[str], known: str, speakers: tuple[str, ...] = ()) -> list[Fact]:
    """'key: value' lines whose every content word of the value was said by the caller, new to the block
    (a transcript line echoed back, 'Caller: ...', is not a fact)."""
    facts = []
    for line in reply.splitlines():
        match = _FACT_LINE.match(line)
        if match is None:
            continue
        key, value = match.group(1).strip().lower(), match.group(2).strip().rstrip(".")
        if key in _NOT_KEYS or key in speakers:
            continue
        words = _content_words(value)
        if words and words <= caller_words and f"{key}: {value}" not in known:
            facts.append(Fact(key, value))
    return facts[:MAX_FACTS]


def grounded_tasks(reply: str, caller_words: set[str]) -> list[str]:
    tasks = []
    for line in reply.splitlines():
        match = _TASK_LINE.match(line)
        if match and len(_content_words(match.group(1)) & caller_words) >= 2:
            tasks.append(match.group(1).rstrip("."))
    return tasks[:MAX_TASKS]


class AfterCallTeam:
    """Built from the employee profile; one `review` per finished call (a fresh team each time)."""

    def __init__(self, model_client: ChatCompletionClient, profile: ProfileSettings):
        self._client = model_client
        self._profile = profile

    def _agents(self) -> list[ChatAgent | Team]:  # the team's participants, in speaking order
        p = self._profile
        keeper = AssistantAgent(
            name="memory_keeper", model_client=self._client,
            system_message=(f"You keep {p.company}'s notes about callers. From the call transcript, write the "
                            "lasting facts the caller stated about themselves, one per line as 'key: value' "
                            "(for example 'pet: dog called Rex'). Only facts the caller said. No other text."))
        tasks = AssistantAgent(
            name="task_agent", model_client=self._client,
            system_message=(f"You are {p.name}'s assistant at {p.company}. From the call transcript, list what "
                            f"{p.name} promised to do for the caller, one per line as 'TASK: what to do'. "
                            "Write 'TASK: none' if nothing was promised."))
        return [keeper, tasks]

    async def review(self, transcript: list[tuple[str, str]], human_block: str) -> CallReview:
        """`transcript`: (role, text) turns of the call; returns the grounded facts and tasks."""
        caller_said = " ".join(text for role, text in transcript if role == "caller")
        if not caller_said.strip():
            return CallReview([], [])
        speaker = {"caller": "Caller", "bot": self._profile.name}
        lines = "\n".join(f"{speaker.get(role, role)}: {text}" for role, text in transcript)
        team = RoundRobinGroupChat(self._agents(), termination_condition=MaxMessageTermination(3))
        task = TextMessage(source="user", content=f"What we know already:\n{human_block or '(nothing)'}\n\n"
                                                   f"Transcript:\n{lines}")
        result = await team.run(task=task)
        said = {m.source: m.content for m in result.messages if isinstance(m, TextMessage)}
        words = _content_words(caller_said)
        return CallReview(grounded_facts(said.get("memory_keeper", ""), words, human_block,
                                         (self._profile.name.lower(),)),
                          grounded_tasks(said.get("task_agent", ""), words))
