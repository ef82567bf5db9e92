"""`employai chat`: the same front-desk brain as on the phone, by typing. One line in, one streamed reply out."""

from __future__ import annotations

import asyncio
import sys

from autogen_core import CancellationToken

from brain.front_desk import FrontDesk
from brain.model_clients import build_model_client
from brain.persona import front_desk_prompt
from sip_config import Config, resolve_models


async def run_chat(config: Config, caller: str = "") -> int:
    client = await asyncio.to_thread(build_model_client, config.llm, resolve_models(config))
    desk = FrontDesk(client, front_desk_prompt(config.profile),
                     config.profile.facts if config.llm.lead_with_facts else ())
    print(config.profile.greeting, flush=True)
    await desk.note_said(config.profile.greeting)
    while True:
        line = await asyncio.to_thread(sys.stdin.readline)
        if not line:
            return 0
        if not line.strip():
            continue
        pieces = []
        async for piece in desk.reply(line.strip(), CancellationToken()):
            pieces.append(piece)
            print(piece, end="", flush=True)
        print(flush=True)
        await desk.note_spoken("".join(pieces).strip())
