"""MemGPT's memory functions, each defined once, bound to one caller's memory, offered as AutoGen tools.

The caller is fixed when the tools are made: no tool takes a caller id, so a model cannot reach another
caller's memory whatever it is asked. Only models that can call tools get them (the bundled one cannot:
its memory works without them, see `CallerMemory.learn_from` and the leading facts of a reply).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from autogen_core.tools import FunctionTool

from .blocks import BlockFullError
from .caller_memory import CallerMemory


def memory_tools(memory: CallerMemory) -> list[FunctionTool]:
    def core_memory_append(content: str) -> str:
        """Add a line to what you know about this caller (their name, numbers, preferences)."""
        try:
            memory.set_human(memory.human().append(content).value)
        except BlockFullError as exc:
            return str(exc)
        return "noted"

    def core_memory_replace(old_content: str, new_content: str) -> str:
        """Replace exact text in what you know about this caller (to correct or update a fact)."""
        human = memory.human().value
        if old_content not in human:
            return "that text is not in the caller's notes"
        try:
            memory.set_human(human.replace(old_content, new_content))
        except BlockFullError as exc:
            return str(exc)
        return "updated"

    def archival_memory_insert(content: str) -> str:
        """Keep a longer note about this caller for later calls."""
        memory.archival_insert(content)
        return "stored"

    def archival_memory_search(query: str) -> str:
        """Search the knowledge base and this caller's notes."""
        return "\n".join(memory.archival_search(query)) or "nothing found"

    def conversation_search(query: str) -> str:
        """Search what was said in earlier calls with this caller."""
        return "\n".join(memory.conversation_search(query, limit=5)) or "nothing found"

    def conversation_search_date(start_date: str, end_date: str) -> str:
        """What was said with this caller between two dates (YYYY-MM-DD, end date included)."""
        try:
            start = datetime.fromisoformat(start_date).timestamp()
            end = (datetime.fromisoformat(end_date) + timedelta(days=1)).timestamp()
        except ValueError:
            return "dates must look like 2026-11-25"
        return "\n".join(memory.conversation_by_date(start, end)) or "nothing found"

    functions: list[Callable[..., str]] = [core_memory_append, core_memory_replace, archival_memory_insert,
                                           archival_memory_search, conversation_search, conversation_search_date]
    return [FunctionTool(f, description=f.__doc__ or f.__name__) for f in functions]
