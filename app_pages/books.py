"""Manager books: clients and VIP clients per manager against the book limit, AUM under
management and open warnings; the clients who must have a manager and have none."""

import altair as alt
import streamlit as st

from tierflow import app_data, charts, frame, lists
from tierflow.i18n import count, money

f = frame.current()
L = f.label
settings = app_data.runner().settings
st.header(L("page_books") + f" · {f.month}")
st.caption(L("books_rule", floor=money(settings.manager_assign_floor, f.lang),
             limit=settings.manager_book_limit, tier=L(f"tier_{settings.vip_min_tier}")))

unassigned_params = {"month": f.month, "branch_id": f.branch_param}
# the books, and the unassigned list's first page (each row with the count and AUM of the
# whole list), asked at once
books, unassigned = app_data.queries(
    ("manager_books", {"month": f.month, "branch_id": f.branch_param}),
    ("unassigned_clients", {**unassigned_params, "page_rows": lists.SHOWN_ROWS}))
whole = (unassigned.iloc[0] if len(unassigned) else {"list_rows": 0, "list_aum": 0.0})
if books.empty and unassigned.empty:
    st.info(L("no_data"))
    st.stop()

cards = st.columns(6)
cards[0].metric(L("kpi_managers"), count(len(books)))
cards[1].metric(L("kpi_over_limit"), count((books["over_limit"] > 0).sum()))
cards[2].metric(L("kpi_vip_in_books"), count(books["vip_clients"].sum()))
cards[3].metric(L("kpi_warnings_open"), count(books["warnings_open"].sum()),
                help=L("kpi_warnings_open_help"))
cards[4].metric(L("kpi_unassigned"), count(whole["list_rows"]),
                help=L("kpi_unassigned_help", floor=money(settings.manager_assign_floor, f.lang)))
cards[5].metric(L("kpi_unassigned_aum"), money(whole["list_aum"], f.lang))

if not books.empty:
    st.subheader(L("books_distribution_title"))
    limit = settings.manager_book_limit
    # the axis reaches a little past the limit, so the limit line and its label show
    reach = (max(int(books["vip_clients"].max()), limit) // 25 + 2) * 25
    # the chart gets the one column it bins (it would send every column to the browser)
    binned = books[["vip_clients"]]
    bars = alt.Chart(binned).mark_bar(color="#2e86c1").encode(
        x=alt.X("vip_clients:Q", bin=alt.Bin(step=25, extent=[0, reach]),
                title=L("col_vip_clients"), scale=alt.Scale(domain=[0, reach])),
        y=alt.Y("count():Q", title=L("books_managers_axis")),
        tooltip=[alt.Tooltip("count():Q", title=L("books_managers_axis"))])
    rule = alt.Chart(binned.head(1)).mark_rule(color="#c0392b", strokeWidth=2).encode(
        x=alt.datum(limit))
    note = alt.Chart(binned.head(1)).mark_text(
        color="#c0392b", align="left", dx=4, dy=-6, baseline="top").encode(
        x=alt.datum(limit), y=alt.value(0), text=alt.value(L("books_limit_label", limit=limit)))
    st.altair_chart((bars + rule + note).properties(height=240), key="books_distribution")

st.subheader(L("books_table_title", month=f.month))
st.caption(L("books_table_help"))
shown, config = charts.display_table(books, f.lang)
config["load_rate"] = st.column_config.ProgressColumn(
    L("col_load_rate"), format="%.0f%%", min_value=0, max_value=200)
picked = st.dataframe(shown, key="books_table", hide_index=True, column_config=config,
                      on_select="rerun", selection_mode="single-row")
if picked.selection.rows:
    manager = books.iloc[picked.selection.rows[0]]
    label = f"{manager['manager_id']} {manager['manager_name']}"
    st.button(L("books_show_clients", manager=label), key="books_manager_clients",
              on_click=frame.drill,
              args=("client_list", {"month": f.month, "manager_id": [manager["manager_id"]],
                                    "status": ["normal", "dormant"]},
                    L("books_manager_title", manager=label, month=f.month)))
lists.downloads("manager_books", {"month": f.month, "branch_id": f.branch_param},
                "books_table", f.lang, f.month)

st.subheader(L("unassigned_title", month=f.month))
lists.client_table(unassigned.drop(columns="list_aum"), name="unassigned_clients",
                   params=unassigned_params,
                   key="books_unassigned", month=f.month, lang=f.lang, stamp=f.month)
