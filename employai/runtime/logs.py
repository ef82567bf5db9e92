"""Logging: static messages, values in structured fields (`extra=`), shown as key=value after the message.

Personal data (transcripts, numbers, DTMF) is only ever logged at debug level, and only in fields.
"""

from __future__ import annotations

import logging

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class FieldsFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        if fields:
            text += " " + " ".join(f"{k}={v!r}" for k, v in sorted(fields.items()))
        return text


def setup_logging(verbose: bool) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(FieldsFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("autogen_core", "autogen_agentchat", "httpx", "faster_whisper", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
