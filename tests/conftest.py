from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import employai  # noqa: F401  (first: it limits NumPy's BLAS threads before anything loads NumPy)
from sip_config import load_config

from .peers import start_bot


@pytest.fixture(scope="session")
def config():
    return load_config()


@pytest.fixture(scope="session")
def synthesizer(config):
    from employai.runtime.engines import load_synthesizer

    return load_synthesizer(config)


@pytest.fixture(scope="session")
def transcriber(config):
    from employai.runtime.engines import load_transcriber

    return load_transcriber(config)


@pytest.fixture(scope="session")
def steady_synthesizer(config):
    """Piper at `tts.variation = 0`: a text comes out the same every time, like a recording."""
    import dataclasses

    from employai.runtime.engines import load_synthesizer

    return load_synthesizer(dataclasses.replace(config, tts=dataclasses.replace(config.tts, variation=0.0)))


@pytest.fixture(scope="session")
def say(steady_synthesizer, tmp_path_factory):
    """Make a caller's recording with the project's own TTS: say(text) -> 16 kHz WAV path.

    Piper varies each rendition a little (as people do), so one in ten renditions of a sentence may be misheard
    ("Hallus Martin"); a test caller speaks the same way every run, like a recording."""
    from speech.pcm import write_wav

    folder = tmp_path_factory.mktemp("speech")

    def _say(text: str) -> Path:
        path = folder / (text.lower().replace(" ", "_").strip("?.!,")[:40] + ".wav")
        if not path.exists():
            write_wav(path, steady_synthesizer.synthesize(text))
        return path

    return _say


@pytest.fixture(scope="module")
def bot(tmp_path_factory):
    """One real bot process (bundled models) for the module's calls."""
    for tool in ("baresip", "sipp", "sox"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: `make test` installs the Debian test peers")
    process = start_bot(tmp_path_factory.mktemp("bot"))
    yield process
    process.stop()


# Storage tests run against both backends: `open_store(embedder=None)` opens a TranscriptStore on this test's own
# database (the same one each time it is called, so a test can reopen it): a SQLite file, or a schema of its own
# on the session's PostgreSQL server (started on first use; see tests/postgres.py).
@pytest.fixture(scope="session")
def postgres():
    from .postgres import start_server

    server = start_server()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request) -> str:
    return request.param


@pytest.fixture
def database_url(request, backend, tmp_path) -> str:
    """Where this test's database is: a SQLite path, or a postgresql:// URL."""
    if backend == "sqlite":
        return str(tmp_path / "db.sqlite3")
    return request.getfixturevalue("postgres").fresh_url()


@pytest.fixture
def open_store(database_url):
    from memory.transcripts import TranscriptStore

    opened = []

    def _open(embedder=None):
        store = TranscriptStore(database_url, embedder=embedder)
        opened.append(store)
        return store

    yield _open
    for store in opened:
        try:
            store.close()
        except Exception:  # closed by the test already
            pass
