"""The export audit log: one JSON line per file that leaves tierflow, appended, never rewritten.

Every download in the app and every export on the command line is recorded before its bytes
are handed over: who, when, from where, which query with which filters, how many rows and
which columns, whether personal data was masked, the format and the file's sha256. When the
line cannot be written (disk full, no permission) the export fails: nothing leaves unrecorded.

Each line also carries the sha256 of the line before it, so an edited or deleted line breaks
the chain and `verify` finds where. The file is opened append-only; writers take a lock, so
concurrent sessions cannot interleave or fork the chain. This module imports no Streamlit.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
from pathlib import Path

AUDIT_LOG = Path("audit") / "exports.jsonl"
_GENESIS = "0" * 64


class AuditError(OSError):
    """The audit line could not be written, so the export it records must not happen."""


def log_path(data_dir: Path) -> Path:
    return Path(data_dir) / AUDIT_LOG


def _last_line(fd: int) -> bytes | None:
    size = os.fstat(fd).st_size
    if size == 0:
        return None
    chunk = min(size, 64 * 1024)
    data = os.pread(fd, chunk, size - chunk)
    return data.rstrip(b"\n").rsplit(b"\n", 1)[-1]


def record(data_dir: Path, *, user: str, role: str, source: str, query: str, params: dict,
           rows: int, columns: list[str], masked: bool, fmt: str, data: bytes) -> dict:
    """Append the line for one export and return it; AuditError if it cannot be written."""
    entry = {
        "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"),
        "user": user, "role": role, "source": source, "query": query,
        "filters": {k: v for k, v in params.items() if v not in (None, "", [], ())},
        "rows": rows, "columns": columns, "masked": masked, "format": fmt,
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    path = log_path(data_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            last = _last_line(fd)
            entry["prev"] = hashlib.sha256(last).hexdigest() if last else _GENESIS
            line = json.dumps(entry, ensure_ascii=False, default=str).encode("utf-8") + b"\n"
            if os.write(fd, line) != len(line):
                raise OSError("short write")
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise AuditError(f"the export was stopped: the audit log {path} cannot be written "
                         f"({exc})") from exc
    return entry


def read(data_dir: Path) -> list[dict]:
    """Every line of the log, oldest first (empty when nothing was exported yet)."""
    path = log_path(data_dir)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def verify(data_dir: Path) -> int | None:
    """The number (1-based) of the first line whose chain is broken, or None when intact."""
    path = log_path(data_dir)
    if not path.exists():
        return None
    previous = _GENESIS
    for number, line in enumerate(path.read_bytes().splitlines(), start=1):
        try:
            if json.loads(line).get("prev") != previous:
                return number
        except ValueError:
            return number
        previous = hashlib.sha256(line).hexdigest()
    return None
