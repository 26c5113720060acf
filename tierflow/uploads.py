"""Deliveries uploaded in the app (the administrators' data page): what is checked, where the
files go, and what the page shows of a load. This module imports no Streamlit.

An upload is a delivery like any other (README, "The data contract"); before anything is
written, every file is checked:
- its name is a plain file name (no folder, no ``..``, no control character, not hidden) with
  a type of the contract (.csv, .xlsx, .parquet), and no name comes twice;
- its content is of the type its name says, whatever the browser claimed: parquet starts and
  ends with ``PAR1``; xlsx is a zip archive (``PK\\x03\\x04``) that opens as one; CSV is text in
  UTF-8 or GB18030 (ingest's rules, on the first bytes) and not a known binary format.
If any file fails, the whole upload is refused and nothing is saved. Otherwise the files are
written into a new folder ``<data dir>/uploads/<UTC time>-<user>/`` (kept: it is what was
loaded) and loaded by `tierflow.ingest.ingest` with the data folder's settings.
"""

from __future__ import annotations

import codecs
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from tierflow import audit
from tierflow.export import neutralise_formulas
from tierflow.ingest import SUPPORTED, LoadReport, Progress, ingest
from tierflow.lake import Lake, RollbackImpossible
from tierflow.settings import load_settings

UPLOADS = "uploads"
SNIFF_BYTES = 64 * 1024  # how much of a CSV is checked for its encoding
MAX_NAME_BYTES = 200
FIRST_ROWS = 20  # set-aside rows shown on the page (all of them are in the download)

# Files that decode as GB18030 text by accident would still be refused by ingest, but with a
# less helpful message: name the common binary formats at once.
_BINARY = ((b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"),
           (b"GIF8", "a GIF image"), (b"%PDF", "a PDF document"),
           (b"PK\x03\x04", "a zip archive (an Excel workbook?)"), (b"PAR1", "a parquet file"),
           (b"\x1f\x8b", "a gzip archive"), (b"\xd0\xcf\x11\xe0", "an old Excel (.xls) file"))


class UploadRefused(ValueError):
    """Some uploaded files may not be loaded; `problems` names each file and why."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


# -- checks ----------------------------------------------------------------------------------

def name_problem(name: str) -> str | None:
    """Why a file name may not be saved as given, or None."""
    if not name or name in (".", ".."):
        return f"{name!r}: not a file name"
    if "/" in name or "\\" in name or ".." in name:
        return f"{name}: a file name may not contain a folder (/ or \\) or '..'"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return f"{name!r}: a file name may not contain control characters"
    if name.startswith("."):
        return f"{name}: a hidden file (name starting with '.') is not part of a delivery"
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        return f"{name[:40]}...: the file name is too long"
    if Path(name).suffix.lower() not in SUPPORTED:
        return (f"{name}: file type {Path(name).suffix or '(none)'} not accepted "
                f"(a delivery holds {', '.join(SUPPORTED)} files)")
    return None


def _decodes(head: bytes, encoding: str, whole: bool) -> bool:
    """The first bytes decode in `encoding` (a character cut at the end of a partial read is
    no error)."""
    try:
        codecs.getincrementaldecoder(encoding)().decode(head, final=whole)
        return True
    except UnicodeDecodeError:
        return False


def content_problem(name: str, data: bytes) -> str | None:
    """Why a file's content is not what its name says (by content, not by name), or None."""
    ext = Path(name).suffix.lower()
    if not data:
        return f"{name}: the file is empty"
    if ext == ".parquet":
        if len(data) < 12 or data[:4] != b"PAR1" or data[-4:] != b"PAR1":
            return f"{name}: not a parquet file (it must start and end with PAR1)"
    elif ext == ".xlsx":
        if data[:4] != b"PK\x03\x04":
            return f"{name}: not an Excel workbook (.xlsx is a zip archive; this is not one)"
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                archive.namelist()
        except zipfile.BadZipFile:
            return f"{name}: not an Excel workbook (a damaged or incomplete zip archive)"
    elif ext == ".csv":
        for magic, kind in _BINARY:
            if data.startswith(magic):
                return f"{name}: not CSV text: this is {kind}"
        head = data[:SNIFF_BYTES]
        whole = len(data) <= SNIFF_BYTES
        # the rules of tierflow.ingest.decode_text, on the first bytes
        if b"\x00" in head[:4096]:
            return (f"{name}: not CSV text in UTF-8 or GB18030 (looks like UTF-16 or a "
                    "binary file)")
        if not (_decodes(head, "utf-8-sig", whole) or _decodes(head, "gb18030", whole)):
            return f"{name}: not CSV text: neither UTF-8 nor GB18030"
    else:
        return name_problem(name)
    return None


def check(files: Iterable[tuple[str, bytes]]) -> list[str]:
    """Every problem of an upload (names, duplicates, contents); empty when it may be saved."""
    problems, seen = [], set()
    for name, data in files:
        problem = name_problem(name) or content_problem(name, data)
        if problem is None and name in seen:
            problem = f"{name}: uploaded twice"
        seen.add(name)
        if problem:
            problems.append(problem)
    return problems


# -- saving and loading ----------------------------------------------------------------------

def _user_slug(user: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", user).strip("_")
    return slug[:60] or "user"


def save_delivery(files: Iterable[tuple[str, bytes]], data_dir: Path, user: str,
                  now: datetime | None = None) -> Path:
    """Check the files and write them into a new folder under ``<data dir>/uploads/``;
    return it. UploadRefused (and nothing written) when any file fails a check."""
    files = list(files)
    if not files:
        raise UploadRefused(["no file was uploaded"])
    problems = check(files)
    if problems:
        raise UploadRefused(problems)
    root = (Path(data_dir) / UPLOADS).resolve()
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%S%fZ")
    folder = root / f"{stamp}-{_user_slug(user)}"
    root.mkdir(parents=True, exist_ok=True)
    folder.mkdir()  # a fresh folder: never add to an earlier upload
    for name, data in files:
        path = (folder / name).resolve()
        if path.parent != folder:  # checked above; never write outside the folder
            raise UploadRefused([f"{name}: not a plain file name"])
        with path.open("xb") as fh:
            fh.write(data)
    return folder


def load_upload(files: Iterable[tuple[str, bytes]], data_dir: Path, user: str,
                progress: Progress | None = None) -> LoadReport:
    """What the data page's Load button does: check and save the files, then load them as a
    delivery by `user`. UploadRefused when a file fails a check (nothing is saved or loaded)."""
    folder = save_delivery(files, data_dir, user)
    return ingest(folder, Path(data_dir), load_settings(Path(data_dir)), by=user,
                  progress=progress)


class ProgressSteps:
    """A load's progress (tierflow.ingest.Progress, the tqdm protocol) handed to `draw(self)`
    at every change; the page draws `fraction`, `done` and `total` on a progress bar."""

    def __init__(self, draw: Callable[[ProgressSteps], object]):
        self.total: float | None = None
        self.done: float = 0
        self._draw = draw

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0

    def update(self, n: float = 1) -> None:
        self.done += n
        self.refresh()

    def refresh(self) -> None:
        self._draw(self)


def rollback(data_dir: Path, by: str, expected: str | None) -> str:
    """Roll back the last load, if the version in use is still `expected` (the one whose last
    load the user confirmed undoing); return the version now in use."""
    return Lake(data_dir).rollback(by=by, expected=expected)


# -- what the page shows ---------------------------------------------------------------------

@dataclass
class ReportView:
    """A load's report as the data page shows it, small enough to keep in the session (the
    full set-aside rows stay in `set_aside_csv`)."""
    delivery: str
    refused: str
    unchanged: bool
    version: str | None
    months: list[str]
    rows_read: int
    rows_set_aside: int
    files: pl.DataFrame  # per file: rows read / loaded / set aside, status, message
    schema: pl.DataFrame  # per file and change: file, change (drift / missing / extra), detail
    by_rule: pl.DataFrame
    first_rows: pl.DataFrame
    set_aside_csv: Path | None
    problems: list[str] = field(default_factory=list)  # an upload refused before loading

    @property
    def share(self) -> float:
        return self.rows_set_aside / self.rows_read if self.rows_read else 0.0


def report_view(report: LoadReport) -> ReportView:
    loaded = not report.refused  # a refused load loaded nothing, from any file
    files = pl.DataFrame([{
        "name": f.name, "table": f.table or "", "status": f.status, "rows_in": f.rows_in,
        "rows_loaded": f.rows_in - f.rows_set_aside if loaded and f.status == "loaded" else 0,
        "rows_set_aside": f.rows_set_aside, "message": f.message,
    } for f in report.files], schema={
        "name": pl.String, "table": pl.String, "status": pl.String, "rows_in": pl.Int64,
        "rows_loaded": pl.Int64, "rows_set_aside": pl.Int64, "message": pl.String})
    schema = pl.DataFrame(
        [{"file": f.name, "change": "drift", "detail": change}
         for f in report.files for change in f.drift]
        + [{"file": f.name, "change": "missing", "detail": ", ".join(f.missing_columns)}
           for f in report.files if f.missing_columns]
        + [{"file": f.name, "change": "extra", "detail": ", ".join(f.extra_columns)}
           for f in report.files if f.extra_columns],
        schema={"file": pl.String, "change": pl.String, "detail": pl.String})
    by_rule = (report.set_aside.group_by("rule").len("rows")
               .sort(["rows", "rule"], descending=[True, False]))
    csv = report.kept_in / "set_aside.csv" if report.kept_in is not None else None
    return ReportView(
        delivery=Path(report.delivery).name, refused=report.refused, unchanged=report.unchanged,
        version=report.version, months=list(report.months), rows_read=report.rows_read,
        rows_set_aside=report.set_aside.height, files=files, schema=schema,
        by_rule=by_rule,
        first_rows=report.set_aside.head(FIRST_ROWS),
        set_aside_csv=csv if csv is not None and csv.exists() else None)


def refused_view(names: list[str], problems: list[str]) -> ReportView:
    """An upload (of files `names`) refused by its checks, shown where a load's report
    would be."""
    empty = report_view(LoadReport(delivery=""))
    empty.delivery, empty.problems = ", ".join(names), list(problems)
    return empty


def set_aside_download(view: ReportView, data_dir: Path, *, user: str, role: str) -> bytes:
    """The full set-aside rows of a load as CSV (spreadsheet formulas neutralised), recorded
    in the audit log first like every download."""
    rows = pl.read_csv(view.set_aside_csv, infer_schema=False)
    data = io.BytesIO()
    neutralise_formulas(rows).write_csv(data)
    data = data.getvalue()
    audit.record(data_dir, user=user, role=role, source="app", query="set_aside",
                 params={"delivery": view.delivery, "version": view.version}, rows=rows.height,
                 columns=rows.columns, masked=False, fmt="csv", data=data)
    return data


def history(data_dir: Path, version: str | None = None) -> pl.DataFrame:
    """Every load that led to the data in use, every rollback (and the load it undid, while
    its version is kept) and every refused load, newest first: at, event (load, load_undone,
    rollback, refused), version, by, delivery, months, note (why a load was refused). `version`: the version in use (the
    current one by default)."""
    lake = Lake(data_dir)

    def load_row(x: dict, event: str = "load") -> dict:
        return {"at": x.get("at"), "event": event, "version": x.get("load"), "by": x.get("by"),
                "delivery": x.get("delivery"), "months": ", ".join(x.get("months", [])),
                "note": ""}

    rows = [load_row(x) for x in lake.manifest(version).get("loads", [])]
    for event in lake.events():  # a load rolled back, while its version is kept
        if not event.get("from"):
            continue
        try:
            undone = lake.manifest(event["from"])["loads"][-1]
        except (FileNotFoundError, KeyError, IndexError, TypeError):
            continue
        rows.append(load_row(undone, event="load_undone"))
    for path in sorted((lake.root / "refused").glob("*/report.json")):
        refused = json.loads(path.read_text(encoding="utf-8"))
        try:
            at = datetime.strptime(refused.get("at", ""), "%Y%m%dT%H%M%S%fZ").replace(
                tzinfo=timezone.utc).isoformat(timespec="seconds")
        except ValueError:
            at = refused.get("at")
        rows.append({"at": at, "event": "refused", "version": "", "by": refused.get("by"),
                     "delivery": refused.get("delivery"), "months": "",
                     "note": refused.get("refused", "")})
    # a rollback undoes an earlier load: listed after the loads, it sorts before one of the
    # same second (times are to the second)
    rows += [{"at": e.get("at"), "event": e.get("event", "rollback"),
              "version": f"{e.get('from')} → {e.get('to')}", "by": e.get("by"),
              "delivery": e.get("undone"), "months": "", "note": ""} for e in lake.events()]
    schema = {k: pl.String for k in ("at", "event", "version", "by", "delivery", "months",
                                     "note")}
    return pl.DataFrame(rows[::-1], schema=schema).sort("at", descending=True, nulls_last=True,
                                                        maintain_order=True)


def month_loads(data_dir: Path, version: str | None = None) -> pl.DataFrame:
    """Each month of a version (the current one by default) with the load that delivered it,
    newest month first."""
    schema = {k: pl.String for k in ("month", "load", "at", "by", "delivery")}
    return pl.DataFrame(Lake(data_dir).month_loads(version), schema=schema).sort(
        "month", descending=True)
