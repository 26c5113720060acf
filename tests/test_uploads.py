"""Uploads (tierflow/uploads.py): every file is checked by its content and name before
anything is saved, saved files stay inside a fresh folder of <data dir>/uploads/, and the
upload loads as a delivery whose report, set-aside download, history and rollback the data
page shows. What the data page does with an upload (AppTest cannot drive st.file_uploader)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone

import polars as pl
import pytest

from conftest import BRANCHES, client, snap, write_delivery
from tierflow import audit, uploads
from tierflow.ingest import ingest
from tierflow.lake import Lake, RollbackImpossible
from tierflow.settings import Settings

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"


def csv_bytes(rows: list[dict], encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def parquet_bytes(df: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.write_parquet(buf)
    return buf.getvalue()


def xlsx_bytes(df: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.write_excel(buf)
    return buf.getvalue()


def refused(files: list[tuple[str, bytes]], data_dir) -> list[str]:
    with pytest.raises(uploads.UploadRefused) as exc:
        uploads.save_delivery(files, data_dir, "demo-admin")
    assert not (data_dir / uploads.UPLOADS).exists() or not any(
        (data_dir / uploads.UPLOADS).iterdir()), "nothing is saved when a file is refused"
    return exc.value.problems


@pytest.fixture
def lake_dir(tmp_path):
    """A data folder with one load: branches B1, B2; clients 000123 (B1), 000456 (B2) and
    eight more in B1, all with January 2024."""
    ids = ["000123", "000456"] + [f"00090{i}" for i in range(8)]
    delivery = write_delivery(tmp_path / "first", {
        "branches": BRANCHES,
        "clients": [client(c, "B2" if c == "000456" else "B1") for c in ids],
        "snapshots": [snap("2024-01", c, "1000") for c in ids],
    })
    report = ingest(delivery, tmp_path / "data", Settings(), by="setup")
    assert report.version == "v000001", report.summary()
    return tmp_path / "data"


# -- content checks ----------------------------------------------------------------------------

def test_a_csv_that_is_really_a_png_is_refused(tmp_path):
    assert refused([("clients.csv", PNG)], tmp_path) == [
        "clients.csv: not CSV text: this is a PNG image"]


def test_a_csv_that_is_binary_or_utf16_is_refused(tmp_path):
    problems = refused([("snapshots.csv", b"\x01\x02\x00\x00garbage"),
                        ("clients.csv", "client_id,name\n1,张三\n".encode("utf-16"))], tmp_path)
    assert problems == [
        "snapshots.csv: not CSV text in UTF-8 or GB18030 (looks like UTF-16 or a binary file)",
        "clients.csv: not CSV text in UTF-8 or GB18030 (looks like UTF-16 or a binary file)"]


def test_a_csv_in_no_allowed_encoding_is_refused(tmp_path):
    # 0x80 alone is neither UTF-8 nor a GB18030 lead byte
    assert refused([("clients.csv", b"client_id,name\n1,\x80\n")], tmp_path) == [
        "clients.csv: not CSV text: neither UTF-8 nor GB18030"]


def test_a_parquet_that_is_not_parquet_is_refused(tmp_path):
    good = parquet_bytes(pl.DataFrame({"client_id": ["1"]}))
    assert uploads.content_problem("clients.parquet", good) is None
    problems = refused([("clients.parquet", b"client_id\n1\n"),
                        ("snapshots.parquet", good[:-4] + b"XXXX"),  # cut short
                        ("managers.parquet", b"")], tmp_path)
    assert problems == [
        "clients.parquet: not a parquet file (it must start and end with PAR1)",
        "snapshots.parquet: not a parquet file (it must start and end with PAR1)",
        "managers.parquet: the file is empty"]


def test_an_xlsx_that_is_not_a_zip_is_refused(tmp_path):
    good = xlsx_bytes(pl.DataFrame({"client_id": ["1"]}))
    assert uploads.content_problem("clients.xlsx", good) is None
    problems = refused([("clients.xlsx", b"client_id,name\n1,x\n"),
                        ("branches.xlsx", good[:200])], tmp_path)  # a zip's start only
    assert problems == [
        "clients.xlsx: not an Excel workbook (.xlsx is a zip archive; this is not one)",
        "branches.xlsx: not an Excel workbook (a damaged or incomplete zip archive)"]


@pytest.mark.parametrize("name", ["../x.csv", "..\\x.csv", "a/b.csv", "/etc/x.csv", "..",
                                  "x..csv"])
def test_a_name_with_a_folder_or_dots_is_refused(tmp_path, name):
    data_dir = tmp_path / "data"
    problems = refused([(name, b"client_id\n1\n")], data_dir)
    assert len(problems) == 1 and problems[0].startswith(repr(name) if name == ".." else name)
    assert not (tmp_path / "x.csv").exists() and not (data_dir / "x.csv").exists()


@pytest.mark.parametrize("name,why", [
    (".clients.csv", "hidden file"), ("clients.exe", "file type .exe not accepted"),
    ("clients", "file type (none) not accepted"), ("clients\n.csv", "control characters")])
def test_other_names_are_refused(tmp_path, name, why):
    [problem] = refused([(name, b"client_id\n1\n")], tmp_path)
    assert why in problem


def test_a_file_uploaded_twice_is_refused(tmp_path):
    data = b"client_id\n1\n"
    assert refused([("clients.csv", data), ("clients.csv", data)], tmp_path) == [
        "clients.csv: uploaded twice"]


def test_one_bad_file_refuses_the_whole_upload(tmp_path):
    assert refused([("branches.csv", csv_bytes(BRANCHES)), ("clients.csv", PNG)], tmp_path) == [
        "clients.csv: not CSV text: this is a PNG image"]


def test_a_gb18030_csv_is_accepted_and_loads(lake_dir):
    data = csv_bytes([client("000777", name="王五")], encoding="gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # really GB18030, not UTF-8
    assert uploads.check([("clients.csv", data)]) == []
    report = uploads.load_upload([("clients.csv", data)], lake_dir, "demo-admin")
    assert report.version == "v000002" and not report.refused, report.summary()
    names = Lake(lake_dir).read_table("clients").filter(pl.col("client_id") == "000777")["name"]
    assert names.to_list() == ["王五"]


def test_a_long_csv_whose_first_bytes_end_inside_a_character_is_accepted():
    """Only the first bytes are checked: a character cut there is no error (in UTF-8 every
    Chinese character has 3 bytes, in GB18030 2: one of these paddings cuts one)."""
    rows = [client(f"{i:06d}", name="张三丰") for i in range(4000)]
    for encoding in ("utf-8", "gb18030"):
        for pad in range(3):
            data = (b"#" * pad) + csv_bytes(rows, encoding)
            assert len(data) > uploads.SNIFF_BYTES
            assert uploads.content_problem("clients.csv", data) is None, (encoding, pad)


# -- saving --------------------------------------------------------------------------------

def test_files_are_saved_in_a_fresh_folder_under_uploads(tmp_path):
    files = [("branches.csv", csv_bytes(BRANCHES)),
             ("clients.parquet", parquet_bytes(pl.DataFrame({"client_id": ["1"]})))]
    now = datetime(2026, 11, 22, 9, 30, 1, 123456, tzinfo=timezone.utc)
    folder = uploads.save_delivery(files, tmp_path / "data", "../li.wei@bank", now=now)
    assert folder.name == "20261122T093001123456Z-li_wei_bank"
    assert folder.parent == (tmp_path / "data" / "uploads").resolve()
    assert sorted(p.name for p in folder.iterdir()) == ["branches.csv", "clients.parquet"]
    assert (folder / "branches.csv").read_bytes() == files[0][1]
    again = uploads.save_delivery(files, tmp_path / "data", "../li.wei@bank")
    assert again != folder and again.parent == folder.parent


def test_nothing_uploaded_is_refused(tmp_path):
    assert refused([], tmp_path) == ["no file was uploaded"]


# -- loading, the report, the download -------------------------------------------------------

def bad_delivery() -> list[tuple[str, bytes]]:
    """February for the ten clients: three negative AUM, one unknown client (4 of 10 rows)."""
    ids = ["000123", "000456"] + [f"00090{i}" for i in range(8)]
    rows = [snap("2024-02", c, "-5" if i < 3 else "1200") for i, c in enumerate(ids)]
    rows[-1]["client_id"] = "999999"
    return [("snapshots_2024-02.csv", csv_bytes(rows))]


def test_a_refused_upload_reports_its_rules_and_keeps_its_rows(lake_dir):
    seen = []
    progress = uploads.ProgressSteps(lambda steps: seen.append((steps.done, steps.total)))
    report = uploads.load_upload(bad_delivery(), lake_dir, "demo-admin", progress=progress)
    assert report.refused.startswith("4 of 10 rows (40.0%) break a rule")
    assert Lake(lake_dir).current_version() == "v000001"
    view = uploads.report_view(report)
    assert (view.rows_read, view.rows_set_aside, view.version) == (10, 4, None)
    assert view.by_rule.rows() == [("negative amount: aum", 3),
                                   ("unknown client: client_id", 1)]
    assert view.files.select("name", "status", "rows_in", "rows_loaded",
                             "rows_set_aside").rows() == [
        ("snapshots_2024-02.csv", "loaded", 10, 0, 4)]  # refused: nothing loaded
    assert view.first_rows["line"].to_list() == [2, 3, 4, 11]
    assert view.set_aside_csv.parent.parent == lake_dir / "lake" / "refused"
    assert seen and seen[0] == (0, 1)  # one file to read, first
    assert view.delivery.endswith("-demo-admin")

    data = uploads.set_aside_download(view, lake_dir, user="demo-admin", role="admin")
    assert pl.read_csv(data)["line"].to_list() == [2, 3, 4, 11]
    entry = audit.read(lake_dir)[-1]
    assert (entry["user"], entry["query"], entry["rows"], entry["masked"]) == (
        "demo-admin", "set_aside", 4, False)
    assert entry["filters"] == {"delivery": view.delivery}

    history = uploads.history(lake_dir)
    assert history.select("event", "by").rows() == [("refused", "demo-admin"),
                                                    ("load", "setup")]
    assert history["note"][0] == report.refused


def test_a_good_upload_loads_with_progress_and_rolls_back(lake_dir):
    seen = []
    progress = uploads.ProgressSteps(lambda steps: seen.append(steps.fraction))
    good = [("snapshots_2024-02.csv",
             csv_bytes([snap("2024-02", "000123", "2000"), snap("2024-02", "000456", "3000")]))]
    report = uploads.load_upload(good, lake_dir, "demo-admin", progress=progress)
    assert (report.version, report.months, report.refused) == ("v000002", ["2024-02"], "")
    assert len(seen) > 3 and seen[-1] == 1.0  # every step of the load, to the end
    view = uploads.report_view(report)
    assert view.files.select("rows_in", "rows_loaded", "rows_set_aside").rows() == [(2, 2, 0)]
    assert view.schema.filter(pl.col("change") == "missing")["detail"][0].startswith(
        "branch_id, manager_id, aum_avg")
    assert view.set_aside_csv == lake_dir / "lake" / "versions" / "v000002" / "load" / \
        "set_aside.csv"
    months = uploads.month_loads(lake_dir)
    assert months.select("month", "load", "by").rows() == [
        ("2024-02", "v000002", "demo-admin"), ("2024-01", "v000001", "setup")]

    with pytest.raises(RollbackImpossible, match="changed since"):
        uploads.rollback(lake_dir, by="demo-admin", expected="v000001")
    assert uploads.rollback(lake_dir, by="demo-admin", expected="v000002") == "v000001"
    assert Lake(lake_dir).months() == ["2024-01"]
    history = uploads.history(lake_dir)
    assert history.select("event", "version", "delivery").rows() == [
        ("rollback", "v000002 → v000001", view.delivery),
        ("load_undone", "v000002", view.delivery),  # while v000002 is kept
        ("load", "v000001", "first")]
    with pytest.raises(RollbackImpossible, match="first load"):
        uploads.rollback(lake_dir, by="demo-admin", expected="v000001")


def test_refused_view_names_every_problem():
    view = uploads.refused_view(["branches.csv", "clients.csv"],
                                ["clients.csv: not CSV text: this is a PNG image"])
    assert view.delivery == "branches.csv, clients.csv"
    assert view.problems == ["clients.csv: not CSV text: this is a PNG image"]
    assert view.files.height == 0 and view.set_aside_csv is None


def test_the_refused_report_json_is_what_history_reads(lake_dir):
    uploads.load_upload(bad_delivery(), lake_dir, "demo-admin")
    [kept] = (lake_dir / "lake" / "refused").glob("*/report.json")
    assert json.loads(kept.read_text())["by"] == "demo-admin"
    assert uploads.history(lake_dir)["at"][0].endswith("+00:00")


def test_the_report_lists_schema_drift_and_extra_columns(lake_dir):
    data = csv_bytes([{"snapshot_month": "2024-02", "client_id": "000123", "aum": "5",
                       "备注": "x"}])
    view = uploads.report_view(uploads.load_upload([("snapshots.csv", data)], lake_dir, "a"))
    assert view.schema.filter(pl.col("change") != "missing").rows() == [
        ("snapshots.csv", "drift", "header 'status' renamed to '备注' (since the last load "
                                   "of snapshots)"),
        ("snapshots.csv", "extra", "备注")]
