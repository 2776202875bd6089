"""Atomic file writes: a reader (a mail pickup, a web server, a person) never sees half a PDF,
half an `.eml` or half a CSV, and a crash leaves the previous file or none.

The data goes to a temporary file in the same directory (so the rename never crosses a file
system), is flushed to disk, then renamed over the target. Files are created private (0600):
invoices are personal financial data.

A process killed while writing leaves its temporary file (`.<name>.<random>.tmp`) behind.
The writer holds an exclusive `flock` on its temporary file for as long as it exists, and the
kernel drops the lock when the process dies, so `sweep_stale_temporaries` removes exactly the
temporaries whose writer is gone: it takes the lock itself, and skips any file younger than a
minute (the instant between a writer creating its file and locking it).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

__all__ = ["atomic_text_file", "atomic_write_bytes", "safe_file_name", "sweep_stale_temporaries"]

log = logging.getLogger(__name__)

#: A temporary younger than this may belong to a writer that has not locked it yet.
MIN_STALE_SECONDS = 60.0

_UNSAFE = frozenset('/\\:*?"<>|')


def safe_file_name(name: str) -> str:
    """`name` if it is usable as one path component on every OS, else ValueError: numbers and
    partner ids become file names, and `../x` must never escape the documents directory."""
    if (
        not name
        or name in (".", "..")
        or name.startswith(".")
        or any(ch in _UNSAFE or ord(ch) < 32 for ch in name)
    ):
        raise ValueError(f"{name!r} cannot be used as a file name")
    return name


@contextmanager
def _replacing(path: Path) -> Iterator[Path]:
    """A temporary path beside `path`, renamed onto it when the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # ours while we live (see the module doc)
        yield Path(tmp_name)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)


def sweep_stale_temporaries(directory: Path, *, now: datetime | None = None) -> list[Path]:
    """Remove the temporaries under `directory` (recursively) that writers killed mid-write
    left behind; returns what was removed. A temporary still locked, or younger than
    `MIN_STALE_SECONDS` by its modification time, is left alone."""
    moment = (now or datetime.now(UTC)).timestamp()  # file times are epoch seconds
    removed: list[Path] = []
    if not directory.is_dir():
        return removed
    for candidate in directory.rglob(".*.tmp"):
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            if moment - candidate.stat().st_mtime < MIN_STALE_SECONDS:
                continue
            fd = os.open(candidate, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its writer is alive
            else:
                candidate.unlink()
                removed.append(candidate)
            finally:
                os.close(fd)
    if removed:
        log.warning(
            "removed %d temporary files left by killed writers in %s", len(removed), directory
        )
    return removed


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    with _replacing(path) as tmp, tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return path


@contextmanager
def atomic_text_file(path: Path) -> Iterator[TextIO]:
    """A UTF-8 text file for streaming writes (newline="" as the csv module wants), put in
    place only when the block ends without an exception."""
    with _replacing(path) as tmp, tmp.open("w", encoding="utf-8", newline="") as f:
        yield f
        f.flush()
        os.fsync(f.fileno())
