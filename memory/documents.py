"""Documents for the knowledge base: text, Markdown and PDF files, cut into passages of a few sentences."""

from __future__ import annotations

import re
from pathlib import Path

MAX_PASSAGE_CHARS = 500
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def read_document(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        from pypdf import PdfReader

        return "\n\n".join(page.extract_text() or "" for page in PdfReader(str(path)).pages)
    if suffix in (".txt", ".md", ".markdown", ".text", ""):
        return path.read_text(encoding="utf-8", errors="replace")
    raise ValueError(f"{path.name}: only text, Markdown and PDF files can be added")


def passages(text: str) -> list[str]:
    """Paragraphs (a Markdown heading leads the paragraph under it), long ones cut at sentence ends."""
    out: list[str] = []
    heading = ""
    for block in re.split(r"\n\s*\n", text):
        lines = [line.strip() for line in block.strip().splitlines() if line.strip()]
        if not lines:
            continue
        if lines[0].startswith("#"):
            heading = lines[0].lstrip("#").strip()
            lines = lines[1:]
            if not lines:
                continue
        body = " ".join(line.lstrip("-*• ").strip() for line in lines)
        chunk = f"{heading}: " if heading else ""
        for sentence in _SENTENCE.split(body):
            if len(chunk) + len(sentence) > MAX_PASSAGE_CHARS and chunk.strip(": "):
                out.append(chunk.strip())
                chunk = f"{heading}: " if heading else ""
            chunk += sentence + " "
        if chunk.strip(": "):
            out.append(chunk.strip())
    return out


_HEADING_PREFIX = re.compile(r"^[^.:!?]{1,60}:\s+(?=[A-Z])")


def sentences(passage: str) -> list[str]:
    """The sentences of a passage as a voice would say them (without the heading that leads a passage)."""
    body = _HEADING_PREFIX.sub("", passage.strip())
    return [s.strip() for s in _SENTENCE.split(body) if len(s.strip()) > 3]
