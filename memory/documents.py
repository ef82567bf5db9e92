"""Documents for the knowledge base: text, Markdown and PDF files, cut into passages of a few sentences."""

from __future__ import annotations

import re
from pathlib import Path

MAX_PASSAGE_CHARS = 500
# A document's text, at most: a knowledge base is read by callers' questions, not a library. It also bounds a PDF
# whose pages all point at one compressed stream (a few KB that would expand to gigabytes of text).
MAX_DOCUMENT_CHARS = 2_000_000
MAX_PDF_PAGES = 2_000
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def read_document(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return _read_pdf(path)
    if suffix in (".txt", ".md", ".markdown", ".text", ""):
        if path.stat().st_size > 4 * MAX_DOCUMENT_CHARS:
            raise ValueError(f"{path.name}: longer than a knowledge document may be ({MAX_DOCUMENT_CHARS} characters)")
        text = path.read_text(encoding="utf-8", errors="replace")
        if len(text) > MAX_DOCUMENT_CHARS:
            raise ValueError(f"{path.name}: longer than a knowledge document may be ({MAX_DOCUMENT_CHARS} characters)")
        return text
    raise ValueError(f"{path.name}: only text, Markdown and PDF files can be added")


def _read_pdf(path: Path) -> str:
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    if len(reader.pages) > MAX_PDF_PAGES:
        raise ValueError(f"{path.name}: more pages than a knowledge document may have ({MAX_PDF_PAGES})")
    texts, total = [], 0
    for page in reader.pages:
        text = page.extract_text() or ""
        total += len(text)
        if total > MAX_DOCUMENT_CHARS:
            raise ValueError(f"{path.name}: longer than a knowledge document may be ({MAX_DOCUMENT_CHARS} characters)")
        texts.append(text)
    return "\n\n".join(texts)


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
