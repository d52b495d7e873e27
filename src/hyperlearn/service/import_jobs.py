"""Content imports started from the web: queued, run in the background, watched by progress.

An upload is copied into `<data dir>/imports/` and a job row is written before the request
answers, so an accepted upload is never lost with the request. One worker thread per server
process runs the jobs in order (imports are CPU-bound; two at once would only slow each other
and contend for the database). Progress and the final report are written to the job row, so any
server process can show them. A job whose heartbeat stops (the server was stopped mid-import)
is shown as interrupted; the batches it had stored stay, and importing the file again adds only
what is missing.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from hyperlearn.content.importing.base import ImportRun
from hyperlearn.content.importing.runner import FORMATS, ImportFailed, run_import
from hyperlearn.service.errors import InvalidInput, NotFound
from hyperlearn.store.models import ImportJobRow

# A running job writes its progress at least this often while it reads records; twice this
# without a write means its process is gone.
HEARTBEAT = timedelta(seconds=30)
PROGRESS_WRITE_SECONDS = 0.5  # at most this often, so progress costs the import little
MAX_ERROR_CHARS = 500


@dataclass(frozen=True, slots=True)
class ImportJobView:
    id: str
    filename: str
    format: str
    language: str
    status: str  # queued, running, done, failed, interrupted
    total: int  # estimated records in the file; 0 when unknown
    read: int
    kept: int
    report: dict[str, Any] | None
    error: str
    created_at: datetime
    finished_at: datetime | None

    @property
    def finished(self) -> bool:
        return self.status in {"done", "failed", "interrupted"}

    @property
    def percent(self) -> int | None:
        if self.status == "done":
            return 100
        if not self.total:
            return None
        return min(99, int(100 * self.read / self.total))


def estimate_records(path: Path, fmt: str) -> int:
    """Records the importer will read, counted cheaply: M2 blocks start with "S ", CoNLL-U
    sentences end with a blank line, pairs files hold one pair per non-empty line. It is an
    estimate for the progress bar only (a pairs CSV's header counts as a line)."""
    count = 0
    previous_blank = True
    with path.open("rb") as handle:
        for raw in handle:
            line = raw.strip()
            if fmt == "m2":
                count += line.startswith(b"S ")
            elif fmt == "conllu":
                if line and previous_blank and not line.startswith(b"#"):
                    count += 1
                previous_blank = not line
            else:
                count += bool(line)
    return count


class ImportJobs:
    """The background import queue of one server process."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        folder: Path,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self._folder = folder
        self._clock = clock
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hyperlearn-import")
        self._futures: list[Future[None]] = []
        self._lock = threading.Lock()

    def start(
        self,
        user_id: str,
        upload: BinaryIO,
        *,
        filename: str,
        fmt: str,
        language: str,
        source: str,
        licence: str,
    ) -> str:
        """Keeps the upload and queues its import; returns the job id. Refuses (InvalidInput)
        an unknown format or language before anything is stored."""
        if fmt not in FORMATS:
            known = ", ".join(sorted(FORMATS))
            raise InvalidInput(f"unknown format {fmt!r}: choose one of {known}")
        if language not in {"en", "ru"}:
            raise InvalidInput(f"unknown language {language!r}: use en or ru")
        job_id = str(uuid.uuid4())
        self._folder.mkdir(parents=True, exist_ok=True)
        path = self._folder / f"{job_id}.{fmt}"
        with path.open("wb") as out:
            shutil.copyfileobj(upload, out)
        now = self._clock()
        try:
            self._store(
                path,
                ImportJobRow(
                    id=job_id,
                    user_id=user_id,
                    filename=filename[:100],
                    format=fmt,
                    language=language,
                    source=source[:200],
                    licence=licence[:200],
                    status="queued",
                    total=0,
                    read=0,
                    kept=0,
                    report="",
                    error="",
                    created_at=now,
                    updated_at=now,
                ),
            )
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        self._submit(job_id, path)
        return job_id

    def resume(self) -> int:
        """Queues again the jobs that were accepted but never started (the server stopped
        first) and whose upload is still kept; returns how many. Called when the app starts."""
        with self._sessions() as session:
            queued = session.scalars(
                select(ImportJobRow).where(ImportJobRow.status == "queued")
            ).all()
            jobs = [(row.id, self._folder / f"{row.id}.{row.format}") for row in queued]
        resumed = 0
        for job_id, path in jobs:
            if path.exists():
                self._submit(job_id, path)
                resumed += 1
        return resumed

    def _store(self, path: Path, row: ImportJobRow) -> None:
        row.total = estimate_records(path, row.format)
        with self._sessions.begin() as session:
            session.add(row)

    def _submit(self, job_id: str, path: Path) -> None:
        with self._lock:
            self._futures = [f for f in self._futures if not f.done()]
            self._futures.append(self._executor.submit(self._run, job_id, path))

    def get(
        self, session: Session, job_id: str, user_id: str, admin: bool = False
    ) -> ImportJobView:
        """The job, for the teacher who started it (or an admin); anyone else gets NotFound,
        as if it did not exist."""
        row = session.get(ImportJobRow, job_id)
        if row is None or (row.user_id != user_id and not admin):
            raise NotFound("no such import")
        return self._view(row)

    def recent(self, session: Session, user_id: str, limit: int = 10) -> list[ImportJobView]:
        rows = session.scalars(
            select(ImportJobRow)
            .where(ImportJobRow.user_id == user_id)
            .order_by(ImportJobRow.created_at.desc())
            .limit(limit)
        )
        return [self._view(row) for row in rows]

    def wait(self, timeout: float) -> bool:
        """Blocks until every queued job of this process has finished (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            futures = list(self._futures)
        for future in futures:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                future.result(timeout=remaining)
            except TimeoutError:
                return False
        return True

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=False)

    # -- the worker ----------------------------------------------------------------------------
    def _run(self, job_id: str, path: Path) -> None:
        # Claim the job atomically: when several server processes resume the same queued job,
        # exactly one runs it.
        with self._sessions.begin() as session:
            claimed = session.execute(
                update(ImportJobRow)
                .where(ImportJobRow.id == job_id, ImportJobRow.status == "queued")
                .values(status="running", updated_at=self._clock())
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return
        try:
            with self._sessions() as session:
                row = session.get_one(ImportJobRow, job_id)
                fmt, language = row.format, row.language
                source = " ".join(row.source.split()) or row.filename
                licence = " ".join(row.licence.split()) or "unknown"
                filename = row.filename
            last_write = 0.0

            def progress(run: ImportRun) -> None:
                nonlocal last_write
                if time.monotonic() - last_write < PROGRESS_WRITE_SECONDS:
                    return
                last_write = time.monotonic()
                self._update(job_id, read=run.read, kept=run.kept)

            try:
                report = run_import(
                    fmt,
                    [path],
                    language=language,
                    sessions=self._sessions,
                    source=source,
                    licence=licence,
                    now=self._clock(),
                    on_progress=progress,
                )
            except ImportFailed as error:
                # Never show the server's copy of the upload: name the teacher's file.
                message = str(error).replace(str(path), filename)
                self._finish(job_id, error=f"The import could not start: {message}")
                return
            except UnicodeDecodeError:
                self._finish(job_id, error="The file is not UTF-8 text: is it the right file?")
                return
            if report.read == 0:
                self._finish(
                    job_id, error=f"No records found in {filename}: is it really a {fmt} file?"
                )
                return
            self._finish(job_id, report=report.to_json())
        except Exception as error:  # a bug must end as a failed job, not a silent dead thread
            self._finish(job_id, error=f"The import failed: {type(error).__name__}: {error}")
            raise
        finally:
            path.unlink(missing_ok=True)

    def _update(self, job_id: str, **values: Any) -> None:
        with self._sessions.begin() as session:
            row = session.get(ImportJobRow, job_id)
            if row is not None:
                for key, value in values.items():
                    setattr(row, key, value)
                row.updated_at = self._clock()

    def _finish(
        self,
        job_id: str,
        *,
        report: dict[str, Any] | None = None,
        error: str = "",
    ) -> None:
        now = self._clock()
        values: dict[str, Any] = {
            "status": "failed" if error else "done",
            "error": error[:MAX_ERROR_CHARS],
            "finished_at": now,
        }
        if report is not None:
            values.update(report=json.dumps(report), read=report["read"], kept=report["kept"])
        self._update(job_id, **values)

    def _view(self, row: ImportJobRow) -> ImportJobView:
        status = row.status
        if status == "running" and self._clock() - row.updated_at > 2 * HEARTBEAT:
            status = "interrupted"
        return ImportJobView(
            id=row.id,
            filename=row.filename,
            format=row.format,
            language=row.language,
            status=status,
            total=row.total,
            read=row.read,
            kept=row.kept,
            report=json.loads(row.report) if row.report else None,
            error=row.error,
            created_at=row.created_at,
            finished_at=row.finished_at,
        )
