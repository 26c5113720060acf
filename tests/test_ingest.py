"""Ingest: every bad-input rule, the file formats and encodings, idempotence, month replacement.

Each rule test loads a good first delivery, then a second with one bad row, and checks the
message (file, line, rule), that the good rows went in and that nothing loaded earlier is lost.
"""

import json

import polars as pl
import pytest

from conftest import BRANCHES, client, snap, write_csv, write_delivery
from tierflow.access import EVERYTHING
from tierflow.ingest import ingest
from tierflow.lake import Lake
from tierflow.settings import Settings

# A rule test's delivery is a few rows with one bad: far above the default share of rows set
# aside that refuses a load (tested on its own below), so these tests allow any share.
SETTINGS = Settings(max_set_aside_share=1.0)


def load(tmp_path, name, tables, data="data"):
    delivery = write_delivery(tmp_path / name, tables)
    return ingest(delivery, tmp_path / data, SETTINGS)


def snapshots(tmp_path, data="data") -> pl.DataFrame:
    lake = Lake(tmp_path / data)
    files = lake.table_files(lake.current_version())["snapshots"]
    return pl.concat([pl.read_parquet(f) for f in files]).sort("month", "client_id")


@pytest.fixture
def first_load(tmp_path):
    """Branches B1, B2; clients 000123 and 000456 with January snapshots."""
    report = load(tmp_path, "d1", {
        "branches": BRANCHES,
        "clients": [client("000123"), client("000456", "B2")],
        "snapshots": [snap("2024-01", "000123", "1000"), snap("2024-01", "000456", "2000")],
    })
    assert report.set_aside.height == 0
    return report


def only_set_aside(report) -> dict:
    assert report.set_aside.height == 1, report.summary()
    return report.set_aside.row(0, named=True)


def test_leading_zeros_survive(tmp_path, first_load):
    assert snapshots(tmp_path)["client_id"].to_list() == ["000123", "000456"]


def test_missing_required_column_rejects_the_file_and_names_it(tmp_path, first_load):
    report = load(tmp_path, "d2", {
        "snapshots": [{"snapshot_month": "2024-02", "client_id": "000123"}],  # no aum
    })
    [rejected] = report.rejected
    assert rejected.name == "snapshots.csv"
    assert "missing required column aum" in rejected.message
    assert "snapshots.csv" in rejected.message
    assert snapshots(tmp_path)["month"].to_list() == ["2024-01", "2024-01"]  # nothing lost


def test_unreadable_file_is_rejected(tmp_path, first_load):
    folder = tmp_path / "d2"
    folder.mkdir()
    (folder / "clients.csv").write_text('client_id,name,branch_id\n"000789,unterminated\n')
    report = ingest(folder, tmp_path / "data", SETTINGS)
    [rejected] = report.rejected
    assert rejected.message.startswith("clients.csv: cannot parse as CSV")
    assert Lake(tmp_path / "data").read_table("clients")["client_id"].to_list() == [
        "000123", "000456"]


def test_wrong_encoding_is_rejected(tmp_path, first_load):
    folder = tmp_path / "d2"
    folder.mkdir()
    (folder / "clients.csv").write_bytes("client_id,name,branch_id\n000789,张三,B1\n"
                                         .encode("utf-16"))
    report = ingest(folder, tmp_path / "data", SETTINGS)
    [rejected] = report.rejected
    assert "clients.csv: cannot read: not text in UTF-8 or GB18030" in rejected.message
    assert Lake(tmp_path / "data").read_table("clients").height == 2


def test_negative_aum_is_set_aside_with_file_line_and_values(tmp_path, first_load):
    report = load(tmp_path, "d2", {"snapshots": [
        snap("2024-02", "000123", "1500"),
        snap("2024-02", "000456", "-5.00"),
    ]})
    bad = only_set_aside(report)
    assert (bad["file"], bad["line"], bad["rule"]) == ("snapshots.csv", 3,
                                                       "negative amount: aum")
    assert json.loads(bad["values"])["aum"] == "-5.00"
    got = snapshots(tmp_path).select("month", "client_id", "aum").rows()
    assert [(m, c, float(a)) for m, c, a in got] == [
        ("2024-01", "000123", 1000.0), ("2024-01", "000456", 2000.0),
        ("2024-02", "000123", 1500.0)]


def test_unknown_branch_is_set_aside(tmp_path, first_load):
    report = load(tmp_path, "d2", {"clients": [client("000789", "B9"), client("000790", "B2")]})
    bad = only_set_aside(report)
    assert (bad["line"], bad["rule"]) == (2, "unknown branch: branch_id")
    assert Lake(tmp_path / "data").read_table("clients")["client_id"].to_list() == [
        "000123", "000456", "000790"]


def test_unknown_client_in_snapshots_is_set_aside(tmp_path, first_load):
    report = load(tmp_path, "d2", {"snapshots": [snap("2024-02", "999999", "10")]})
    assert only_set_aside(report)["rule"] == "unknown client: client_id"


def test_duplicate_key_keeps_the_first_row(tmp_path, first_load):
    report = load(tmp_path, "d2", {"snapshots": [
        snap("2024-02", "000123", "1500"),
        snap("2024-02", "000123", "9999"),
    ]})
    bad = only_set_aside(report)
    assert bad["line"] == 3
    assert bad["rule"] == "duplicate key: snapshot_month, client_id (first at snapshots.csv:2)"
    feb = snapshots(tmp_path).filter(pl.col("month") == "2024-02")
    assert [float(a) for a in feb["aum"]] == [1500.0]


@pytest.mark.parametrize("month", ["2024-13", "June 2024", "2024-02-30", ""])
def test_bad_month_is_set_aside(tmp_path, first_load, month):
    report = load(tmp_path, "d2", {"snapshots": [snap("2024-02", "000123", "1"),
                                                 snap(month, "000456", "2")]})
    bad = only_set_aside(report)
    expected = "missing required value" if month == "" else "not a month"
    assert bad["rule"] == f"{expected}: snapshot_month" and bad["line"] == 3


@pytest.mark.parametrize("given", ["2024-02", "2024-02-29", "2024/2/15", "202402",
                                   "2024-02-01 00:00:00"])
def test_any_date_in_the_month_is_the_month(tmp_path, first_load, given):
    report = load(tmp_path, "d2", {"snapshots": [snap(given, "000123", "1")]})
    assert report.set_aside.height == 0 and report.months == ["2024-02"]


def test_missing_required_value_and_bad_amount(tmp_path, first_load):
    report = load(tmp_path, "d2", {"snapshots": [snap("2024-02", "000123", ""),
                                                 snap("2024-02", "000456", "12a")]})
    assert report.set_aside["rule"].to_list() == ["missing required value: aum",
                                                  "not an amount: aum"]


def test_unknown_status_is_set_aside_and_chinese_aliases_are_read(tmp_path, first_load):
    report = load(tmp_path, "d2", {"snapshots": [
        snap("2024-02", "000123", "1", status="休眠"),
        snap("2024-02", "000456", "2", status="frozen"),
    ]})
    assert only_set_aside(report)["rule"].startswith("unknown value: status")
    feb = snapshots(tmp_path).filter(pl.col("month") == "2024-02")
    assert feb.select("client_id", "status").rows() == [("000123", "dormant")]


def test_same_delivery_twice_changes_nothing(tmp_path, first_load):
    lake = Lake(tmp_path / "data")
    before = (lake.current_version(), lake.manifest())
    again = ingest(tmp_path / "d1", tmp_path / "data", SETTINGS)
    assert again.unchanged
    assert (lake.current_version(), lake.manifest()) == before


def test_a_rebuild_derives_a_table_the_version_lacks(tmp_path, first_load):
    # a version loaded by an older tierflow, before the case_aum table existed
    lake = Lake(tmp_path / "data")
    (lake.path(lake.current_version()) / "case_aum.parquet").unlink()
    rebuilt = ingest(None, tmp_path / "data", SETTINGS)
    assert not rebuilt.unchanged and rebuilt.version == "v000002"
    assert (lake.path("v000002") / "case_aum.parquet").exists()
    assert ingest(None, tmp_path / "data", SETTINGS).unchanged  # now there is nothing to do


def test_a_delivered_month_replaces_that_month(tmp_path, first_load):
    load(tmp_path, "d2", {"snapshots": [snap("2024-02", "000123", "10")]})
    load(tmp_path, "d3", {"snapshots": [snap("2024-01", "000456", "777.77")]})
    got = snapshots(tmp_path).select("month", "client_id", "aum").rows()
    # January now holds only the corrected delivery's row; February is untouched.
    assert [(m, c, float(a)) for m, c, a in got] == [("2024-01", "000456", 777.77),
                                                     ("2024-02", "000123", 10.0)]


def test_maturities_are_stored_by_date_and_a_redelivered_product_replaces_its_row(
        tmp_path, first_load):
    def product(client_id, kind, amount, day):
        return {"client_id": client_id, "product_type": kind, "amount": amount,
                "maturity_date": day}

    load(tmp_path, "d2", {"maturities": [product("000123", "wealth", "100", "2024-03-09"),
                                         product("000123", "fund", "200", "2024-02-01"),
                                         product("000456", "bond", "300", "2024-02-20")]})
    # the second delivery repeats 000456's bond (same key) and adds two products between
    load(tmp_path, "d3", {"maturities": [product("000456", "bond", "300", "2024-02-20"),
                                         product("000456", "wealth", "50", "2024-03-01"),
                                         product("000123", "bond", "70", "2024-01-15")]})
    lake = Lake(tmp_path / "data")
    stored = pl.read_parquet(lake.path(lake.current_version()) / "maturities.parquet")
    # in the order the to-do list reads a window of dates, not in the key's (client first)
    assert [(r["maturity_date"].isoformat(), r["client_id"], r["product_type"])
            for r in stored.iter_rows(named=True)] == [
        ("2024-01-15", "000123", "bond"), ("2024-02-01", "000123", "fund"),
        ("2024-02-20", "000456", "bond"), ("2024-03-01", "000456", "wealth"),
        ("2024-03-09", "000123", "wealth")]


def test_chinese_headers_in_gb18030(tmp_path):
    folder = tmp_path / "d1"
    folder.mkdir()
    write_csv(folder / "branches.csv", [{"网点号": "B1", "网点名称": "静安支行"}],
              encoding="gb18030")
    write_csv(folder / "clients.csv", [{"客户号": "000123", "客户姓名": "张三", "网点号": "B1",
                                        "性别": "男"}], encoding="gb18030")
    write_csv(folder / "snapshots_2024-01.csv", [
        {"快照月份": "2024-01-31", "客户号": "000123", "金融资产": "50000", "账户状态": "正常"}],
        encoding="gb18030")
    report = ingest(folder, tmp_path / "data", SETTINGS)
    assert report.set_aside.height == 0 and not report.rejected, report.summary()
    clients = Lake(tmp_path / "data").read_table("clients")
    assert clients.select("name", "gender").rows() == [("张三", "M")]
    assert snapshots(tmp_path).select("month", "tier", "status").rows() == [
        ("2024-01", "gold", "normal")]


def test_utf8_with_bom(tmp_path):
    folder = tmp_path / "d1"
    folder.mkdir()
    write_csv(folder / "branches.csv", BRANCHES, encoding="utf-8-sig")
    report = ingest(folder, tmp_path / "data", SETTINGS)
    assert report.rows_loaded["branches"] == 2 and not report.rejected


def test_xlsx_and_parquet_deliveries(tmp_path):
    import openpyxl

    folder = tmp_path / "d1"
    folder.mkdir()
    write_csv(folder / "branches.csv", BRANCHES)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["客户号", "客户姓名", "网点号", "出生日期"])
    sheet.append(["000123", "李四", "B1", "1970-05-06"])
    book.save(folder / "clients.xlsx")
    pl.DataFrame({"snapshot_month": ["2024-01"], "client_id": ["000123"],
                  "aum": [2_000_000.0], "txn_count": [3]}).write_parquet(
        folder / "snapshots.parquet")
    report = ingest(folder, tmp_path / "data", SETTINGS)
    assert report.set_aside.height == 0 and not report.rejected, report.summary()
    assert snapshots(tmp_path).select("client_id", "tier", "txn_count", "branch_id").rows() == [
        ("000123", "diamond", 3, "B1")]  # the snapshot's branch defaults to the client's


def test_files_outside_the_contract_are_skipped_and_reported(tmp_path):
    folder = write_delivery(tmp_path / "d1", {"branches": BRANCHES})
    (folder / "notes.txt").write_text("hello")
    (folder / "budget.csv").write_text("a,b\n1,2\n")
    report = ingest(folder, tmp_path / "data", SETTINGS)
    assert {f.name: f.status for f in report.files} == {
        "branches.csv": "loaded", "budget.csv": "skipped", "notes.txt": "skipped"}


def test_tier_settings_change_is_refused_until_rebuild(tmp_path, first_load):
    from tierflow.queries import QueryError, QueryRunner

    (tmp_path / "data" / "settings.toml").write_text("[tiers]\ntier_floors = [0, 500, 5000, 50000, 60000]\n")
    with pytest.raises(QueryError, match="rebuild"):
        QueryRunner(tmp_path / "data").for_scope(EVERYTHING).run(
            "tier_distribution", {"month": "2024-01"})
    from tierflow.settings import load_settings
    ingest(None, tmp_path / "data", load_settings(tmp_path / "data"))
    out = QueryRunner(tmp_path / "data").for_scope(EVERYTHING).run(
        "tier_distribution", {"month": "2024-01"})
    assert out[out.clients > 0][["tier", "clients"]].values.tolist() == [["gold", 2]]


def test_a_load_over_the_set_aside_share_is_refused_whole(tmp_path, first_load):
    lake = Lake(tmp_path / "data")
    before = (lake.current_version(), lake.manifest())
    new_clients = [client(f"00090{i}") for i in range(8)]

    def delivery(bad: int) -> dict:
        return {"clients": new_clients,
                "snapshots": [snap("2024-02", f"00090{i}", "-1" if i < bad else "100")
                              for i in range(8)]}

    # 2 of 16 rows read (12.5%) break a rule: more than the default 10%
    refused = ingest(write_delivery(tmp_path / "d2", delivery(2)), tmp_path / "data",
                     Settings())
    assert refused.version is None and refused.set_aside.height == 2
    assert refused.refused == ("2 of 16 rows (12.5%) break a rule, more than the 10% allowed "
                               "(setting max_set_aside_share).")
    assert refused.summary().startswith("REFUSED")
    kept = pl.read_csv(refused.kept_in / "set_aside.csv")
    assert kept["line"].to_list() == [2, 3] and kept["rule"].unique().to_list() == [
        "negative amount: aum"]
    assert (lake.current_version(), lake.manifest()) == before
    assert not list(lake.versions.glob(".tmp-*"))
    # 1 of 16 (6.25%) loads, with its row set aside
    loaded = ingest(write_delivery(tmp_path / "d3", delivery(1)), tmp_path / "data",
                    Settings())
    assert not loaded.refused and loaded.version == "v000002"
    assert lake.months() == ["2024-01", "2024-02"]
    assert snapshots(tmp_path).filter(pl.col("month") == "2024-02").height == 7


def test_schema_drift_is_reported(tmp_path, first_load):
    report = load(tmp_path, "d2", {"clients": [
        {"client_id": "000777", "客户姓名": "王五", "branch_id": "B1", "hobby": "golf"}]})
    clients_file = report.files[0]
    assert clients_file.headers == ["client_id", "客户姓名", "branch_id", "hobby"]
    assert clients_file.extra_columns == ["hobby"]
    assert clients_file.missing_columns == [
        "manager_id", "gender", "birth_date", "open_date", "segment", "risk_profile",
        "preference_type", "phone", "id_number"]
    # first_load delivered client_id, name, branch_id
    assert clients_file.drift == [
        "header 'name' renamed to '客户姓名' (since the last load of clients)",
        "new column 'hobby' (since the last load of clients)"]
    summary = report.summary()
    assert "columns not in the contract, ignored: hobby" in summary
    assert "schema drift: new column 'hobby'" in summary
    files = Lake(tmp_path / "data").manifest()["loads"][-1]["files"]
    assert files[0]["drift"] == clients_file.drift and files[0]["headers"][1] == "客户姓名"


def test_a_renamed_header_in_place_is_reported_as_renamed(tmp_path, first_load):
    report = load(tmp_path, "d2", {"clients": [
        {"client_id": "000777", "客户姓名": "王五", "branch_id": "B1"}]})
    assert report.files[0].drift == [
        "header 'name' renamed to '客户姓名' (since the last load of clients)"]
    same = load(tmp_path, "d3", {"clients": [
        {"client_id": "000778", "客户姓名": "赵六", "branch_id": "B1"}]})
    assert same.files[0].drift == []


def test_rollback_returns_to_the_version_before_the_last_load(tmp_path, first_load):
    from tierflow.lake import RollbackImpossible

    lake = Lake(tmp_path / "data")
    load(tmp_path, "d2", {"snapshots": [snap("2024-02", "000123", "10")]})
    assert [m["month"] for m in lake.month_loads()] == ["2024-01", "2024-02"]
    assert [(m["load"], m["delivery"], m["by"]) for m in lake.month_loads()] == [
        ("v000001", "d1", "cli"), ("v000002", "d2", "cli")]
    assert lake.rollback(by="admin") == "v000001"
    assert lake.current_version() == "v000001" and lake.months() == ["2024-01"]
    event = lake.events()[-1]
    assert (event["from"], event["to"], event["by"], event["undone"]) == (
        "v000002", "v000001", "admin", "d2")
    with pytest.raises(RollbackImpossible, match="first load"):
        lake.rollback(by="admin")
    # the undone delivery loads again as a new version on top of the version in use
    again = ingest(tmp_path / "d2", tmp_path / "data", SETTINGS)
    assert not again.unchanged and again.version == "v000003"
    assert lake.months() == ["2024-01", "2024-02"]


def test_a_file_is_read_in_batches_with_true_line_numbers(tmp_path, first_load, monkeypatch):
    import tierflow.ingest

    monkeypatch.setattr(tierflow.ingest, "BATCH_ROWS", 2)
    rows = [snap("2024-02", "000123", "1"), snap("2024-02", "000456", "2"),
            snap("2024-03", "000123", "3"), snap("2024-03", "000456", "-4"),
            snap("2024-04", "000123", "5")]
    report = load(tmp_path, "d2", {"snapshots": rows})
    bad = only_set_aside(report)
    assert (bad["line"], bad["rule"]) == (5, "negative amount: aum")
    assert report.files[0].rows_in == 5
    assert snapshots(tmp_path).height == 2 + 4


def test_a_file_broken_after_its_first_batch_is_rejected_whole(tmp_path, first_load,
                                                                monkeypatch):
    import tierflow.ingest

    monkeypatch.setattr(tierflow.ingest, "BATCH_ROWS", 2)
    folder = tmp_path / "d2"
    folder.mkdir()
    (folder / "snapshots.csv").write_text(
        "snapshot_month,client_id,aum\n2024-02,000123,1\n2024-02,000456,2\n"
        "2024-03,000123,3\n2024-03,000456,4,extra,cells\n2024-04,000123,5\n", encoding="utf-8")
    (folder / "clients.csv").write_text("client_id,name,branch_id\n000999,新客户,B1\n",
                                        encoding="gb18030")
    report = ingest(folder, tmp_path / "data", SETTINGS)
    rejected = {f.name: f for f in report.files}["snapshots.csv"]
    assert rejected.status == "rejected" and rejected.message.startswith(
        "snapshots.csv: cannot parse as CSV")
    assert Lake(tmp_path / "data").months() == ["2024-01"]  # nothing of it, not even batch 1
    assert Lake(tmp_path / "data").read_table("clients")["name"].to_list()[-1] == "新客户"
    version = Lake(tmp_path / "data").path(report.version)
    assert not (version / "work").exists() and not (version / "staging").exists()
