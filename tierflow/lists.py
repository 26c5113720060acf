"""Client lists on the pages (dormant clients, to-do lists, manager books): a table whose row
opens that client's detail on the Clients page, and downloads of the whole list.

Downloads go through `app_data.export_file`, like the Clients page's: built only when clicked,
from the lake version the page showed, in the user's scope, each recorded in the audit log.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from tierflow import app_data, charts, frame
from tierflow.export import MEDIA_TYPES
from tierflow.i18n import count, t

SHOWN_ROWS = 1_000  # rows drawn in a table (the pages' lists); downloads cover every row
TOTAL = "list_rows"  # a paged list query's count of every row matching (the same on each row)
DOWNLOADS = ("csv", "xlsx")


def downloads(name: str, params: dict, key: str, lang: str, stamp: str) -> None:
    """CSV and Excel buttons for a named query's full result."""
    user = app_data.signed_in_user()
    for column, fmt in zip(st.columns(len(DOWNLOADS) + 2)[:len(DOWNLOADS)], DOWNLOADS):
        column.download_button(
            t(f"download_{fmt}", lang),
            data=lambda fmt=fmt, version=app_data.lake_version(): app_data.export_file(
                name, params, fmt, user.name, version),
            file_name=f"tierflow-{name}-{stamp}.{fmt}", mime=MEDIA_TYPES[fmt],
            on_click="ignore", key=f"{key}_download_{fmt}")


def client_table(rows: pd.DataFrame, *, name: str, params: dict, key: str, month: str,
                 lang: str, stamp: str, columns: list[str] | None = None) -> None:
    """A client list from the named query `name` run with `params`: its rows (at most
    SHOWN_ROWS drawn; `columns` picks the ones shown), a click on a row opens that client on
    the Clients page (its row of `month` and its detail), and downloads of every row.

    `rows` may be the first page only (the query run with page_rows=SHOWN_ROWS, as lists that
    can be long are): its TOTAL column then counts the whole list."""
    total = len(rows)
    if TOTAL in rows.columns:
        total = int(rows[TOTAL].iloc[0]) if len(rows) else 0
        rows = rows.drop(columns=[TOTAL])
    shown_rows = rows.head(SHOWN_ROWS)

    def to_drill(selection):
        if not selection["rows"]:
            return None
        row = shown_rows.iloc[selection["rows"][0]]
        label = f"{row['client_id']} {row['name']}" if isinstance(row.get("name"), str) \
            else row["client_id"]
        return ("client_list", {"month": month, "client_id": [row["client_id"]]},
                t("client_drill_title", lang, client=label), row["client_id"])

    shown, config = charts.display_table(shown_rows[columns] if columns else shown_rows, lang)
    st.dataframe(shown, key=key, hide_index=True, column_config=config,
                 on_select=frame.drill_on_select(key, to_drill), selection_mode="single-row")
    if rows.empty:  # the empty table still shows what the list would hold
        st.caption(t("list_empty", lang))
        return
    caption = t("list_rows", lang, rows=count(total))
    if total > len(shown_rows):
        caption += " · " + t("rows_shown", lang, shown=count(len(shown_rows)),
                             total=count(total))
    st.caption(caption + " · " + t("list_click_hint", lang))
    downloads(name, params, key, lang, stamp)
