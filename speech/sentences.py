"""Cut a stream of reply tokens into speakable pieces as early as sound prosody allows.

The first piece may end at a clause break (comma, colon, semicolon, dash) once it has a few words, or, failing
that, at a word break once it is long enough to say, so the caller hears the start of the reply while the model
is still writing; later pieces end at sentence breaks.
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*\s")
_CLAUSE_END = re.compile(r"[,;:\u2014]\s")
_UNSPEAKABLE = re.compile(r"[*_#`~<>|\[\]{}]|\\n")
_SPACES = re.compile(r"\s+")


def speakable(text: str) -> str:
    """Drop markup and emoji that a voice should not read out."""
    text = _UNSPEAKABLE.sub(" ", text)
    text = "".join(ch for ch in text if ch.isascii() or ch.isalpha())
    return _SPACES.sub(" ", text).strip()


class SentenceChunker:
    def __init__(self, first_clause_min_words: int = 3, first_piece_max_words: int = 6, min_chars: int = 12):
        self._buffer = ""
        self._emitted_any = False
        self._first_clause_min_words = first_clause_min_words
        self._first_piece_max_words = first_piece_max_words
        self._min_chars = min_chars

    def push(self, token: str) -> list[str]:
        self._buffer += token
        pieces: list[str] = []
        while True:
            piece = self._next_piece()
            if piece is None:
                return pieces
            pieces.append(piece)

    def flush(self) -> list[str]:
        rest = speakable(self._buffer)
        self._buffer = ""
        return [rest] if rest and any(ch.isalnum() for ch in rest) else []

    def _next_piece(self) -> str | None:
        cut = None
        for match in _SENTENCE_END.finditer(self._buffer):
            if match.end() >= self._min_chars:
                cut = match.end()
                break
        if cut is None and not self._emitted_any:
            for match in _CLAUSE_END.finditer(self._buffer):
                if len(self._buffer[: match.end()].split()) >= self._first_clause_min_words:
                    cut = match.end()
                    break
        if cut is None and not self._emitted_any:
            words = list(re.finditer(r"\S+\s", self._buffer))
            if len(words) >= self._first_piece_max_words:
                cut = words[self._first_piece_max_words - 1].end()
        if cut is None:
            return None
        piece, self._buffer = speakable(self._buffer[:cut]), self._buffer[cut:]
        if not any(ch.isalnum() for ch in piece):
            return self._next_piece()
        self._emitted_any = True
        return piece
