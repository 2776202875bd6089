"""Atomic file writes: a reader (a mail pickup, a web server, a person) never sees half a PDF,
half an `.eml` or half a CSV, and a crash leaves the previous file or none.

The data goes to a temporary file in the same directory (so the rename never crosses a file
system), is flushed to disk, then renamed over the target. Files are created private (0600):
invoices are personal financial data.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

__all__ = ["atomic_text_file", "atomic_write_bytes", "safe_file_name"]

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
    os.close(fd)
    try:
        yield Path(tmp_name)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


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
