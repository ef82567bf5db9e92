"""Which database this instance uses, from the config: SQLite in `data.dir` (the default) or PostgreSQL at
`data.url`. Every command that opens the store goes through `open_store`, so they all agree."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from memory.database import mask_url
from memory.embeddings import Embedder
from memory.transcripts import TranscriptStore
from sip_config import Config

SQLITE_FILE = "employai.sqlite3"


def database_location(config: Config) -> str:
    """The PostgreSQL URL of `data.url`, else the SQLite file in `data.dir`."""
    return config.data.url.strip() or str(Path(config.data.dir).expanduser() / SQLITE_FILE)


def database_label(config: Config) -> str:
    """The database for people (status, logs): a path, or the URL with any password masked."""
    return mask_url(database_location(config))


def instance_name(config: Config) -> str:
    """This bot among several sharing a PostgreSQL database: its host and SIP port (two bots on one host listen on
    two ports). '' with SQLite, whose file is one bot's."""
    return f"{socket.gethostname()}:{config.sip.port}" if config.data.url.strip() else ""


def open_store(config: Config, embedder: Embedder | None = None) -> TranscriptStore:
    password = os.environ.get(config.data.password_env) if config.data.password_env else None
    return TranscriptStore(database_location(config), embedder=embedder, password=password,
                           instance=instance_name(config))
