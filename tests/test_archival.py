"""Archival memory with the real all-MiniLM-L6-v2 embedder (NumPy): reference vectors, hybrid search, isolation,
documents."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from memory.documents import passages, read_document, sentences
from memory.embeddings import MiniLMEmbedder

pytestmark = pytest.mark.engine

DATA = Path(__file__).parent / "data"
# tests/data/minilm_reference.npy: these four sentences embedded by sentence-transformers (PyTorch) from the
# same package's model, normalize_embeddings=True.
REFERENCE_SENTENCES = ["How much does a visit cost?", "A standard call-out visit costs eighty dollars.",
                       "We fix leaks and boilers.", "The weather is nice today."]


@pytest.fixture(scope="module")
def embedder():
    return MiniLMEmbedder().load()


def test_numpy_minilm_matches_the_reference_implementation(embedder):
    ours = embedder.embed(REFERENCE_SENTENCES)
    reference = np.load(DATA / "minilm_reference.npy")
    assert ours.shape == (4, 384)
    assert np.abs(ours - reference).max() < 1e-4
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_search_sees_the_knowledge_base_and_only_the_callers_own_notes(open_store, embedder):
    store = open_store(embedder)
    archive = store.archive
    archive.insert(["A yearly boiler service costs one hundred and twenty dollars."], scope="org", source="kb")
    store.caller_memory("+15550101").archival_insert("Alice's boiler is a Worcester Bosch from 2012.")
    alice, bob = store.caller_memory("+15550101"), store.caller_memory("+15550102")
    assert any("Worcester" in t for t in alice.archival_search("what boiler do I have"))
    assert not any("Worcester" in t for t in bob.archival_search("Worcester Bosch boiler 2012 Alice"))
    assert any("one hundred and twenty" in t for t in bob.archival_search("boiler service price"))
    assert store.caller_memory("").archival_search("Worcester Bosch") == [archive.search("boiler", "")[0].text]
    alice.forget()
    assert not any("Worcester" in t for t in store.caller_memory("+15550101").archival_search("Worcester"))


def test_the_answering_sentence_is_picked_by_meaning(open_store, embedder):
    store = open_store(embedder)
    store.archive.insert(passages(
        "# Weekend work\n\nOn Saturdays we work from ten until two. Emergency call-outs on Sundays cost double.\n\n"
        "# Boiler service\n\nA yearly boiler service costs one hundred and twenty dollars."), scope="org")
    memory = store.caller_memory("")
    assert memory.knowledge_lead("What does a Sunday emergency cost?") == "Emergency call-outs on Sundays cost double."
    assert "one hundred and twenty" in memory.knowledge_lead("How much is a boiler service?")
    assert memory.knowledge_lead("What is the capital of France?") is None


def test_documents_are_cut_into_passages_with_their_headings(tmp_path):
    text = "# Prices\n\n" + " ".join(f"Item {i} costs {i} dollars." for i in range(60)) + "\n\nPlain paragraph."
    cut = passages(text)
    assert all(len(p) <= 520 for p in cut) and len(cut) >= 4
    assert cut[0].startswith("Prices: Item 0") and cut[-1] == "Prices: Plain paragraph."
    assert sentences(cut[0])[0] == "Item 0 costs 0 dollars."
    pdf = tmp_path / "hours.pdf"
    pdf.write_bytes(_tiny_pdf("We are open on Sundays from noon."))
    assert "open on Sundays" in read_document(pdf)
    with pytest.raises(ValueError):
        read_document(tmp_path / "x.docx")


def test_a_document_too_long_for_a_knowledge_base_is_refused(tmp_path, monkeypatch):
    """A cap on a document's text (and a PDF's pages) bounds what one upload can cost: a PDF whose pages share a
    compressed stream expands far beyond its size."""
    import memory.documents as documents

    monkeypatch.setattr(documents, "MAX_DOCUMENT_CHARS", 40)
    long = tmp_path / "long.txt"
    long.write_text("We are open on Sundays from noon. " * 3)
    with pytest.raises(ValueError, match="longer than"):
        read_document(long)
    pdf = tmp_path / "long.pdf"
    pdf.write_bytes(_tiny_pdf("We are open on Sundays from noon, and on Mondays from nine."))
    with pytest.raises(ValueError, match="longer than"):
        read_document(pdf)
    monkeypatch.setattr(documents, "MAX_PDF_PAGES", 0)
    with pytest.raises(ValueError, match="pages"):
        read_document(pdf)


def _tiny_pdf(text: str) -> bytes:
    """A one-page PDF with one line of text, written by hand (no PDF writer needed)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
               b" /Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = b"%PDF-1.4\n", []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
