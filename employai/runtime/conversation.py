"""What a conversation starts with, the same on the phone and in `employai chat`: the front desk for this
caller, with their memory, and the greeting they should hear."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from autogen_core.models import ChatCompletionClient

from brain.after_call import AfterCallTeam, CallReview
from brain.front_desk import FrontDesk, calls_tools
from brain.persona import front_desk_prompt, greeting_for
from brain.switchboard import Directory, TransferRequest
from memory.archival import PROFILE_SOURCE
from memory.blocks import Block, render_blocks
from memory.caller_memory import CallerMemory
from sip_config import Config

from .identity import IdentityCheck
from .turn_policy import TurnPolicy
from .understanding import Understanding

log = logging.getLogger(__name__)


def new_front_desk(config: Config, model_client: ChatCompletionClient, memory: CallerMemory,
                   call_id: int | None, call_block: Block | None = None,
                   transfer: TransferRequest | None = None) -> FrontDesk:
    """The front desk with its core memory in the prompt: the caller's `human` block and this call's `call` block;
    with `transfer`, the `transfer_call` tool (for models that call tools)."""
    blocks = ([memory.human()] if memory.remembers else []) + ([call_block] if call_block is not None else [])
    notes = render_blocks(blocks)
    return FrontDesk(model_client, front_desk_prompt(config.profile, notes), memory=memory,
                     history_tokens=config.llm.history_tokens,
                     tools=[transfer.tool()] if transfer is not None and config.transfer.directory
                     and calls_tools(model_client) else ())


def new_turn_policy(config: Config, model_client: ChatCompletionClient, understanding: Understanding,
                    memory: CallerMemory, call_id: int | None,
                    directory: Directory, commit: Callable[..., Any], identity: IdentityCheck | None = None,
                    call_block: Block | None = None, transfer: TransferRequest | None = None,
                    verified_name: Callable[[], str] = lambda: "") -> TurnPolicy:
    """Who answers each turn of this conversation (a call, or `employai chat`), for this caller."""
    desk = new_front_desk(config, model_client, memory, call_id, call_block, transfer)
    return TurnPolicy(config, understanding, desk, memory, directory, commit, identity, call_id, verified_name)


def sync_profile_facts(config: Config, store) -> None:
    """The profile's facts live in the knowledge base too, so one search answers from both."""
    if store.archive is not None and config.llm.lead_with_facts:
        store.archive.replace_source(list(config.profile.facts), source=PROFILE_SOURCE)


def wants_after_call_review(config: Config) -> bool:
    mode = config.memory.after_call_llm
    return mode == "on" or (mode == "auto" and config.llm.model != "bundled")


async def review_call(config: Config, model_client: ChatCompletionClient, store, call_id: int,
                      memory: CallerMemory) -> CallReview | None:
    """After a call: the memory keeper and task agent refine what we know and what we promised (when enabled)."""
    if not memory.remembers or not wants_after_call_review(config):
        return None
    turns = [(t.role, t.text) for t in store.turns(call_id)]
    review = await AfterCallTeam(model_client, config.profile).review(turns, memory.human().value)
    memory.add_facts(review.facts)
    for task in review.tasks:
        memory.add_task(task, call_id)
    log.info("after-call review", extra={"facts": len(review.facts), "tasks": len(review.tasks)})
    return review


def greeting(config: Config, memory: CallerMemory) -> str:
    return greeting_for(config.profile, memory.known("name"))
