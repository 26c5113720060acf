"""Files out: formulas neutralised in CSV and XLSX, values exact in parquet and JSON."""

import csv
import io
import json
from decimal import Decimal

import openpyxl
import polars as pl
import pyarrow as pa

from tierflow.export import to_bytes

NAMES = ['=HYPERLINK("http://evil.example","click")', "+86 138", "-1", "@SUM(A1)", "张三",
         "\tTAB"]
TABLE = pa.table({
    "name": NAMES,
    "aum": pa.array([Decimal("50000.00"), Decimal("49999.99"), Decimal("0.01"),
                     Decimal("1.10"), Decimal("2.00"), Decimal("3.00")], pa.decimal128(18, 2)),
})


def test_csv_prefixes_formula_starts_with_an_apostrophe():
    rows = list(csv.DictReader(io.StringIO(to_bytes(TABLE, "csv").decode("utf-8"))))
    assert [r["name"] for r in rows] == [
        '\'=HYPERLINK("http://evil.example","click")', "'+86 138", "'-1", "'@SUM(A1)", "张三",
        "'\tTAB"]
    assert [r["aum"] for r in rows][:3] == ["50000.00", "49999.99", "0.01"]


def test_xlsx_holds_text_not_formulas():
    book = openpyxl.load_workbook(io.BytesIO(to_bytes(TABLE, "xlsx")))
    sheet = book.active
    cells = [sheet.cell(row=i, column=1) for i in range(2, 2 + len(NAMES))]
    assert all(c.data_type == "s" for c in cells)  # strings, none a formula ("f")
    assert cells[0].value.startswith("'=HYPERLINK")


def test_parquet_and_json_keep_values_exact():
    back = pl.read_parquet(io.BytesIO(to_bytes(TABLE, "parquet")))
    assert back["name"].to_list() == NAMES
    assert back["aum"].to_list() == [Decimal("50000.00"), Decimal("49999.99"),
                                     Decimal("0.01"), Decimal("1.10"), Decimal("2.00"),
                                     Decimal("3.00")]
    records = json.loads(to_bytes(TABLE, "json"))
    assert records[0]["name"] == NAMES[0]
