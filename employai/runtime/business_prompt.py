"""The running bot's speech-to-text prompt: the config's words and the knowledge base's, kept current.

The transcriber loads with the config's words (`vocabulary.business_vocabulary`); the knowledge base is in the
database, which opens after it. So at start, once the store is open, when the console adds or removes a document,
and at every housekeeping sweep, the knowledge base's documents are compared with those the prompt was last built
from. When they differ (a document added or removed by the console, `employai knowledge`, or another bot sharing the
database), the prompt is built again from the config and the newest MAX_PASSAGES passages, and given to the
transcriber; a turn being transcribed keeps the prompt it started with. Nothing of a caller's reaches it: the
knowledge base is the organisation's (scope 'org'), and callers' own notes are never read here. Blocking (one query,
and the passages' words counted when something changed): call it on a worker thread; refreshes from two threads at
once (a sweep and the console) take turns. An error is the caller's to log: the prompt stays as it was, and the next
refresh tries again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from memory.archival import PROFILE_SOURCE, Document, documents, knowledge_texts
from memory.database import Database
from sip_config import Config
from speech.stt import PromptedTranscriber

from .vocabulary import business_vocabulary

log = logging.getLogger(__name__)

MAX_PASSAGES = 2000  # the knowledge base's words are counted over at most this many passages, the newest


class BusinessPrompt:
    def __init__(self, config: Config, transcriber: PromptedTranscriber, database: Database | None):
        self._config, self._transcriber, self._database = config, transcriber, database
        self._built_from: Sequence[Document] | None = None
        self._one_at_a_time = threading.Lock()

    def refresh(self) -> bool:
        """Build the prompt again if the knowledge base changed since it was last built; whether the transcriber's
        prompt changed."""
        if self._database is None or not self._config.stt.bias:
            return False
        with self._one_at_a_time:
            docs = [d for d in documents(self._database) if d.source != PROFILE_SOURCE]
            if docs == self._built_from:
                return False
            prompt = business_vocabulary(self._config, knowledge_texts(self._database, MAX_PASSAGES))
            changed = prompt != self._transcriber.prompt
            if changed:
                self._transcriber.set_prompt(prompt)
            self._built_from = docs
        if changed:
            log.info("speech-to-text prompt rebuilt from the knowledge base",
                     extra={"documents": len(docs), "words": len(prompt.split())})
        return changed
