"""The knowledge base's documents on both backends: added through the CLI's own function (a name added again is
replaced, progress is told as passages are embedded), listed, removed; txt, md and pdf; `employai knowledge
list|remove`; the knowledge base's words in the speech-to-text prompt. Vectors from a deterministic word embedder
(no model)."""

from __future__ import annotations

import dataclasses

import pytest

from employai.cli.knowledge import add_document, list_documents, remove_document
from employai.cli.main import main
from employai.runtime.business_prompt import BusinessPrompt
from employai.runtime.conversation import sync_profile_facts
from employai.runtime.vocabulary import business_vocabulary
from sip_config import load_config

from .fakes import FakeTranscriber
from .test_records import WordEmbedder

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]

HOURS = ("# Opening hours\n\nWe open at nine on weekdays and at ten on Saturdays.\n\n"
         "# Parking\n\nParking is behind the building.\n")


def text_pdf(pages: list[str]) -> bytes:
    """A minimal PDF, one line of Helvetica text per page (what pypdf's text extraction reads)."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", ""]
    kids = []
    for text in pages:
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
        page_id, content_id = len(objects) + 1, len(objects) + 2
        kids.append(f"{page_id} 0 R")
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content_id} 0 R"
                       " /Resources << /Font << /F1 FONT 0 R >> >> >>")
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream.decode()}\nendstream")
    font_id = len(objects) + 1
    objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>"
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n{body.replace('FONT', str(font_id))}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def test_documents_are_added_listed_replaced_and_removed(open_store, tmp_path):
    store = open_store(embedder=WordEmbedder())
    hours, menu, guide = tmp_path / "hours.md", tmp_path / "menu.txt", tmp_path / "guide.pdf"
    hours.write_text(HOURS)
    menu.write_text("\n\n".join(f"Dish {i}: a bowl of soup number {i} costs {i} dollars." for i in range(40)))
    guide.write_bytes(text_pdf(["The clinic is on the second floor.", "Bring your insurance card."]))
    told: list[tuple[int, int]] = []
    assert add_document(store.archive, hours) == 2
    assert add_document(store.archive, menu, progress=lambda done, total: told.append((done, total))) == 40
    assert told == [(16, 40), (32, 40), (40, 40)]  # a batch at a time
    assert add_document(store.archive, guide) == 2
    store.caller_memory("+15550101").archival_insert("prefers the window table")  # a caller's note: not a document
    listed = {d.source: d.passages for d in list_documents(store)}
    assert listed == {"hours.md": 2, "menu.txt": 40, "guide.pdf": 2}
    assert "second floor" in store.archive.search("where is the clinic floor", "")[0].text
    hours.write_text(HOURS.replace("nine", "eight"))
    assert add_document(store.archive, hours) == 2  # the same name again: replaced, not doubled
    assert {d.source: d.passages for d in list_documents(store)}["hours.md"] == 2
    assert "eight" in store.archive.search("when do you open on weekdays", "")[0].text

    assert remove_document(store, "menu.txt") == 40
    assert remove_document(store, "menu.txt") == 0
    assert {d.source for d in list_documents(store)} == {"hours.md", "guide.pdf"}
    assert all("soup" not in p.text for p in store.archive.search("soup dish dollars", "", limit=5))
    assert store.caller_memory("+15550101").archival_search("window table")[0] == "prefers the window table"
    with pytest.raises(ValueError):
        add_document(store.archive, tmp_path / "notes.docx")


def test_the_cli_lists_and_removes_documents(tmp_path, capfd):
    from employai.runtime.storage import open_store
    from sip_config import config_from_dict

    config_file = tmp_path / "bot.toml"
    config_file.write_text(f'[data]\ndir = "{tmp_path}"\n')
    doc = tmp_path / "hours.md"
    doc.write_text(HOURS)
    store = open_store(config_from_dict({"data": {"dir": str(tmp_path)}}), embedder=WordEmbedder())
    add_document(store.archive, doc)
    store.close()
    assert main(["-c", str(config_file), "knowledge", "list"]) == 0
    assert "hours.md: 2 passages, added " in capfd.readouterr().out
    assert main(["-c", str(config_file), "knowledge", "remove", "nothing.md"]) == 2
    assert "no document named nothing.md" in capfd.readouterr().out
    assert main(["-c", str(config_file), "knowledge", "remove", "hours.md"]) == 0
    assert "hours.md: 2 passages removed" in capfd.readouterr().out
    assert main(["-c", str(config_file), "knowledge", "list"]) == 0
    assert capfd.readouterr().out == ""


def test_the_knowledge_bases_words_join_the_speech_prompt_as_documents_come_and_go(open_store, tmp_path):
    config = load_config()
    store = open_store(embedder=WordEmbedder())
    sync_profile_facts(config, store)  # the profile's facts are in the knowledge base too, and in the prompt already
    ears = FakeTranscriber([])
    ears.set_prompt(business_vocabulary(config))  # as the transcriber loads, before the database opens
    prompt = BusinessPrompt(config, ears, store.database)
    assert not prompt.refresh() and ears.prompt == business_vocabulary(config)  # no document: nothing to add
    boilers = tmp_path / "boilers.md"
    boilers.write_text("We service Vaillant and Worcester boilers.\n\nVaillant parts are kept in the van.\n\n"
                       "Every Vaillant boiler we fit has a ten-year warranty.\n")
    add_document(store.archive, boilers)
    store.caller_memory("+15550101").archival_insert("my Rottweiler is called Zephyrine")  # a caller's note
    assert prompt.refresh() and "Vaillant" in ears.prompt and "warranty" in ears.prompt, ears.prompt
    assert ears.prompt.index("Vaillant") < ears.prompt.index("Worcester")  # the most frequent first
    assert "Acme Plumbing" in ears.prompt and "Booking reference" in ears.prompt  # the config's words stay
    assert "Zephyrine" not in ears.prompt and "Rottweiler" not in ears.prompt  # never a caller's words
    assert not prompt.refresh()  # unchanged: not built again
    remove_document(store, "boilers.md")
    assert prompt.refresh() and "Vaillant" not in ears.prompt
    unbiased = dataclasses.replace(config, stt=dataclasses.replace(config.stt, bias=False))
    assert not BusinessPrompt(unbiased, FakeTranscriber([]), store.database).refresh()


def test_a_failed_rebuild_is_tried_again_and_the_newest_passages_feed_the_prompt(open_store, tmp_path):
    from memory.archival import knowledge_texts

    store = open_store(embedder=WordEmbedder())
    for name, text in (("old.md", "Aga cookers are serviced."), ("new.md", "Rayburn stoves are serviced.")):
        (tmp_path / name).write_text(text)
        add_document(store.archive, tmp_path / name)
    assert knowledge_texts(store.database, 1) == ["Rayburn stoves are serviced."]  # the newest first

    class Flaky(FakeTranscriber):
        def __init__(self) -> None:
            super().__init__([])
            self.failures = 1

        def set_prompt(self, prompt: str) -> None:
            if self.failures:
                self.failures -= 1
                raise RuntimeError("tokenizer away")
            super().set_prompt(prompt)

    ears = Flaky()
    prompt = BusinessPrompt(load_config(), ears, store.database)
    with pytest.raises(RuntimeError):
        prompt.refresh()
    assert prompt.refresh() and "Rayburn" in ears.prompt  # the same documents, built again
