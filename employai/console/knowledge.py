"""The knowledge-base page: the documents in it, adding a txt, md or pdf file (uploaded, then cut into passages and
embedded in the background, the page showing how many passages are embedded so far), and removing a document.
Adding and removing go through the CLI's own functions (`employai.cli.knowledge`).

Uploads are bounded: the CSRF token (in the form's URL), the origin and the declared length are checked before the
body is read, and the body is read through a byte counter; at most MAX_UPLOAD_BYTES, one file, named .txt, .md or
.pdf and looking like one (a PDF's header, text that is UTF-8 without NUL bytes); anything else is refused with a
message saying why. A file's name and content never reach the logs."""

from __future__ import annotations

import asyncio
import itertools
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import TYPE_CHECKING
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from employai.cli.knowledge import add_document, list_documents, remove_document
from memory.archival import PROFILE_SOURCE

from .actions import Refused, _done, _refused, check_sender, check_token, guarded
from .guard import TooLarge, bounded_receive

if TYPE_CHECKING:
    from memory.archival import Archive, Progress

    from .app import Console

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
KINDS = (".txt", ".md", ".pdf")
JOBS_KEPT = 20
MULTIPART_OVERHEAD = 64 * 1024  # the form's boundaries and part headers around the file


@dataclass
class Job:
    """One document being added: read, then embedded passage batch by passage batch."""

    id: int
    name: str
    done: int = 0
    total: int = 0
    state: str = "reading"  # reading | embedding | added | failed
    problem: str = ""

    def progress(self, done: int, total: int) -> None:  # a worker thread: plain assignments
        self.state, self.done, self.total = "embedding", done, total


class Jobs:
    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.recent: dict[int, Job] = {}
        self._tasks: set[asyncio.Task] = set()

    def start(self, archive: Archive, path: Path, name: str, added: Callable[[], None] = lambda: None) -> Job:
        """Add the document in a worker thread; `added` is called on the event loop once it is in."""
        job = Job(next(self._ids), name)
        self.recent[job.id] = job
        for old in list(self.recent)[:-JOBS_KEPT]:
            del self.recent[old]
        task = asyncio.create_task(self._run(job, archive, path, added))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    @property
    def running(self) -> bool:
        return any(job.state in ("reading", "embedding") for job in self.recent.values())

    async def _run(self, job: Job, archive: Archive, path: Path, added: Callable[[], None]) -> None:
        try:
            job.done = job.total = await run_in_threadpool(_add_and_delete, archive, path, job.name, job.progress)
        except (OSError, ValueError) as exc:
            job.state, job.problem = "failed", f"The file could not be read: {type(exc).__name__}."
            return
        except Exception:
            log.exception("a document could not be added to the knowledge base")
            job.state, job.problem = "failed", "The document could not be added (see the bot's log)."
            return
        job.state = "added"
        log.info("operator action", extra={"action": "add_document", "via": "console", "job": job.id,
                                           "passages": job.total})
        try:  # the document is in: what the bot derives from the knowledge base follows
            added()
        except Exception:
            log.exception("the bot was not told of the new document; its next housekeeping sweep finds it")


def _kept(content: bytes, suffix: str) -> Path:
    """The upload in a private temporary folder, for the reader (which reads files)."""
    path = Path(tempfile.mkdtemp(prefix="employai-upload-")) / f"document{suffix}"
    path.write_bytes(content)
    return path


def _add_and_delete(archive: Archive, path: Path, name: str, progress: Progress) -> int:
    try:
        return add_document(archive, path, name, progress)
    finally:
        path.unlink(missing_ok=True)
        path.parent.rmdir()


def _jobs(request: Request) -> Jobs:
    return request.app.state.knowledge_jobs


def _problem(text: str) -> Response:
    return RedirectResponse(f"/knowledge?problem={quote(text)}", status_code=303)


def check_upload(name: str, content: bytes) -> str:
    """Why a file cannot be added ('' when it can): its kind by name, and its content looking like that kind."""
    suffix = PurePath(name).suffix.lower()
    if suffix not in KINDS:
        return f"Only .txt, .md and .pdf files can be added, not {suffix or 'a file without an extension'}."
    if not content:
        return "The file is empty."
    if suffix == ".pdf":
        return "" if content.startswith(b"%PDF-") else "That file is not a PDF."
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return "A .txt or .md file must be UTF-8 text."
    return "A .txt or .md file must be text, not binary data." if "\0" in text else ""


async def page(request: Request) -> Response:
    console: Console = request.app.state.console
    docs = await run_in_threadpool(list_documents, console.store)
    jobs = _jobs(request)
    return console.render(request, "knowledge.html", page="knowledge", documents=docs, profile=PROFILE_SOURCE,
                          jobs=list(reversed(jobs.recent.values())), running=jobs.running,
                          available=console.store.archive is not None, max_mb=MAX_UPLOAD_BYTES // 2**20,
                          problem=request.query_params.get("problem", ""))


async def upload(request: Request) -> Response:
    """A multipart form (file), its CSRF token in the URL (`/knowledge?csrf=...`, or an X-CSRF-Token header).
    Refused before any of it is read when it is from another origin, has no token, has a Transfer-Encoding or says
    it is too large; read through a byte counter that stops at the length allowed."""
    console: Console = request.app.state.console
    limit = MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD
    try:
        check_sender(request, limit)
        if not request.headers.get("content-length", ""):
            raise Refused(411, "An upload must say its length.")
        check_token(console, request.query_params.get("csrf") or request.headers.get("x-csrf-token", ""))
    except Refused as refusal:
        return _refused(refusal)
    too_large = f"The file is too large: at most {MAX_UPLOAD_BYTES // 2**20} MB."
    counted = Request(request.scope, bounded_receive(request.receive, limit))
    try:
        async with counted.form(max_files=1, max_fields=2) as form:
            file = form.get("file")
            if not isinstance(file, UploadFile) or not file.filename:
                return _problem("Choose a file to add.")
            content = await file.read(MAX_UPLOAD_BYTES + 1)
            name = PurePath(file.filename.replace("\\", "/")).name.strip()[:200]
    except TooLarge:
        return PlainTextResponse(too_large, status_code=413)
    if len(content) > MAX_UPLOAD_BYTES:
        return _problem(too_large)
    if problem := check_upload(name, content):
        return _problem(problem)
    if console.store.archive is None:
        return _problem("The knowledge base needs the embedding model, which this process has not loaded.")
    path = await run_in_threadpool(_kept, content, PurePath(name).suffix.lower())
    job = _jobs(request).start(console.store.archive, path, name, console.bot.knowledge_changed)
    log.debug("a document is being added to the knowledge base", extra={"job": job.id, "bytes": len(content)})
    return RedirectResponse("/knowledge", status_code=303)


@guarded
async def remove(request: Request, console: Console, form: dict[str, str]) -> Response:
    source = form.get("source", "")
    if source == PROFILE_SOURCE:  # the profile's facts: changed in the config, restored at each start
        return _problem("The employee profile's facts are changed in the configuration, not here.")
    removed = await run_in_threadpool(remove_document, console.store, source)
    if removed:
        console.bot.knowledge_changed()
    return _done("remove_document", "/knowledge", passages=removed, changed=removed > 0)


ROUTES = [
    Route("/knowledge", page),
    Route("/knowledge", upload, methods=["POST"]),
    Route("/knowledge/remove", remove, methods=["POST"]),
]
