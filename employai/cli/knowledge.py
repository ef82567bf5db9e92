"""`employai knowledge add|list|remove`: the organisation's knowledge base. The console's knowledge page adds and
removes documents through the same functions (`add_document`, `remove_document`).

A document is kept under its file name: adding a file whose name is already there replaces that document. Progress
(files, and passages embedded) shows on a terminal only; piped or redirected, the output is the plain lines."""

from __future__ import annotations

import logging
import sys
from datetime import datetime
from pathlib import Path

from tqdm import tqdm

from employai.runtime.storage import open_store
from memory.archival import Archive, Document, Progress, documents, remove_source
from memory.documents import passages, read_document
from memory.embeddings import MiniLMEmbedder
from memory.transcripts import TranscriptStore
from sip_config import Config, ConfigError, resolve_models

log = logging.getLogger(__name__)


def add_document(archive: Archive, path: Path, source: str = "", progress: Progress | None = None) -> int:
    """Cut a text, Markdown or PDF file into passages and keep them, with their embeddings, as the document `source`
    (default: the file's name), replacing an earlier document of that name; the number of passages. Raises
    ValueError for a file of another kind, OSError for one that cannot be read."""
    chunks = passages(read_document(path))
    archive.replace_source(chunks, source or path.name, progress)
    return len(chunks)


def list_documents(store: TranscriptStore) -> list[Document]:
    return documents(store.database)


def remove_document(store: TranscriptStore, source: str) -> int:
    """Remove a document from the knowledge base; its passages removed (0: no such document)."""
    removed = remove_source(store.database, source)
    if store.archive is not None:
        store.archive.forget_cached()
    return removed


def run_knowledge(args, config: Config) -> int:
    if args.knowledge_command == "add":
        return run_knowledge_add(args.files, config)
    store = open_store(config)
    try:
        if args.knowledge_command == "list":
            for doc in list_documents(store):
                added = datetime.fromtimestamp(doc.added_at).strftime("%Y-%m-%d %H:%M")
                print(f"{doc.source}: {doc.passages} passages, added {added}")
            return 0
        removed = remove_document(store, args.source)
        if not removed:
            print(f"employai: no document named {args.source} in the knowledge base")
            return 2
        log.info("operator action", extra={"action": "remove_document", "via": "cli", "passages": removed})
        print(f"{args.source}: {removed} passages removed from the knowledge base")
        return 0
    finally:
        store.close()


def run_knowledge_add(files: list[str], config: Config) -> int:
    """Cut each file into passages and store them, with their embeddings, in the knowledge base."""
    try:
        models = resolve_models(config)
    except ConfigError as exc:
        print(f"employai: {exc}")
        return 2
    with tqdm(total=1, desc="loading the embedding model", unit="model", disable=None, leave=False) as loading:
        embedder = MiniLMEmbedder(models.embedding_zip).load()
        loading.update()
    store = open_store(config, embedder=embedder)
    assert store.archive is not None  # a store opened with an embedder has the knowledge base
    try:
        with tqdm(files, desc="files", unit="file", disable=None, file=sys.stderr) as bar:
            for name in bar:
                path = Path(name)
                try:
                    added = add_document(store.archive, path, progress=_passages_bar(path.name))
                except (OSError, ValueError) as exc:
                    bar.write(f"employai: {path}: {exc}", file=sys.stdout)
                    return 2
                bar.write(f"{path.name}: {added} passages added to the knowledge base", file=sys.stdout)
        return 0
    finally:
        store.close()


def _passages_bar(name: str) -> Progress:
    """Passages embedded, as a bar of their own under the files' bar (nothing when not on a terminal)."""
    bar: tqdm | None = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc=name, unit="passage", disable=None, leave=False, file=sys.stderr)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return progress
