"""The one small interface every reference-registry source offers, and how its failures are reported.

A source is a file or folder in a register's own format. It says what it is (``name``), which data it
holds (``version``: the register's own version or a digest of the files, so a run records exactly what it
compared against), describes itself for the run record (``describe()``), and streams typed frozen records
(``records()``; each reader also has one iterator per kind of record).

Two kinds of trouble, kept apart so that one garbled record never costs a whole run:

* ``SourceError`` — the source cannot be used: a file is unreadable, not well-formed or truncated, carries
  a DOCTYPE, is not of the format, or a download fails. The message always names the file and, where the
  parser knows it, the line. The run is recorded as failed.
* ``RecordIssue`` — one record has a bad value (a GUID that is not one, a date that is not a date, a
  cadastral number of the wrong form). The stream goes on; the reader keeps the first ``limit`` issues and
  counts them all (``IssueLog``), and the run is recorded as partial.
"""

from __future__ import annotations

import abc
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gateway.errors import Code, GatewayError

#: How many issues a reader keeps with their details; the rest are only counted.
DEFAULT_ISSUE_LIMIT = 1000


class SourceError(GatewayError):
    """A reference source cannot be read; the reconciliation run that needed it fails.

    ``file`` and ``line`` say where (``line`` is None when the trouble is not at a line: a missing file, an
    HTTP failure); the message always starts with them, so a log line or the run record is enough to act.
    """

    fault_actor = "Server"

    def __init__(self, message: str, *, code: Code, file: str | Path | None = None, line: int | None = None) -> None:
        where = ""
        if file is not None:
            where = f"{file}, line {line}: " if line is not None else f"{file}: "
        super().__init__(f"{where}{message}", code=code)
        self.file = str(file) if file is not None else None
        self.line = line


@dataclass(frozen=True, slots=True)
class RecordIssue:
    """One record of a source that could not be read and was skipped (or read without the bad value)."""

    file: str
    line: int | None
    code: Code
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.file}, line {self.line}: {self.message}"


@dataclass(slots=True)
class IssueLog:
    """The issues of one reader: the first ``limit`` kept with their details, all of them counted.

    Bounded so that a source where every record is bad cannot fill memory; ``count`` still tells the run
    how many records were lost.
    """

    limit: int = DEFAULT_ISSUE_LIMIT
    issues: list[RecordIssue] = field(default_factory=list)
    count: int = 0

    def add(self, issue: RecordIssue) -> None:
        self.count += 1
        if len(self.issues) < self.limit:
            self.issues.append(issue)

    def report(self, file: str, line: int | None, message: str, code: Code = Code.SOURCE_RECORD_INVALID) -> None:
        self.add(RecordIssue(file, line, code, message))

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[RecordIssue]:
        return iter(self.issues)

    def clear(self) -> None:
        self.issues.clear()
        self.count = 0

    def summary(self) -> dict[str, object]:
        """For the run record: how many, how many kept, and the kept ones as text."""
        return {"count": self.count, "kept": len(self.issues), "issues": [str(issue) for issue in self.issues]}


class Source(abc.ABC):
    """A reference-registry source: a file or folder in the register's own format.

    Readers read lazily: constructing one checks the files are there and of the format (cheap), and every
    iteration streams the files again from the start, so a job can read one kind of record, then another.
    Issues of every iteration go to ``issues``; use one reader per run.
    """

    #: short stable name of the register: ``"gar"``, ``"egrn"``, ``"licences"``
    name: str

    def __init__(self, *, issue_limit: int = DEFAULT_ISSUE_LIMIT) -> None:
        self.issues = IssueLog(issue_limit)

    @property
    @abc.abstractmethod
    def version(self) -> str:
        """Which data these are: the register's own version, or a date and digest of the files."""

    @abc.abstractmethod
    def describe(self) -> dict[str, object]:
        """A JSON-serialisable description for the run record: name, version, path, files and issues."""

    @abc.abstractmethod
    def records(self) -> Iterator[object]:
        """Every record the reader reads, kind after kind (each reader also has one iterator per kind)."""


def file_digest(path: Path, label: str) -> bytes:
    """SHA-256 of a file, read in chunks (reference files run to gigabytes)."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as stream:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise SourceError(f"cannot read the file: {exc.strerror or exc}", code=Code.SOURCE_UNREADABLE,
                          file=label) from None
    return digest.digest()


def files_version(files: Iterable[tuple[str, Path]]) -> str:
    """A version for sources without one of their own: a digest of the files' names and contents."""
    digest = hashlib.sha256()
    for label, path in files:
        digest.update(label.encode("utf-8") + b"\0" + file_digest(path, label))
    return f"sha256:{digest.hexdigest()[:32]}"
