"""Clients: the filterable list (or the clients behind a clicked chart element), its totals,
downloads, and one client's detail."""

import streamlit as st

from tierflow import app_data, charts, frame, lists
from tierflow.export import MEDIA_TYPES
from tierflow.i18n import count, money

SHOWN_ROWS = 1_000  # rows drawn in the table; totals and downloads cover every row
# Totals of every row, the same on each row of a page: client_list counts list_clients, the
# drill-through lists count lists.TOTAL; only client_list has list_aum_change (against the
# month before, as its card says)
TOTALS = ("list_clients", lists.TOTAL, "list_aum", "list_aum_change")

f = frame.current()
L = f.label
user = app_data.signed_in_user()
st.header(L("page_clients"))

drill = st.session_state.get(frame.DRILL)
if drill:
    st.info(L("drill_showing", title=drill["title"]))
    if st.button(L("drill_clear"), key="clients_drill_clear"):
        del st.session_state[frame.DRILL]
        st.rerun()
    name, params = drill["query"], drill["params"]
else:
    managers = app_data.query("managers", branch_id=f.branch_param)
    manager_names = dict(managers[["manager_id", "manager_name"]].values)
    row1 = st.columns(4)
    chosen_managers = row1[0].multiselect(
        L("manager"), list(manager_names), key="clients_managers",
        format_func=lambda m: f"{m} {manager_names.get(m, '')}", placeholder=L("any"))
    # closed accounts are left out by default, so the count agrees with the Overview's clients
    statuses = row1[1].multiselect(L("status"), ["normal", "dormant", "closed"],
                                   default=["normal", "dormant"], key="clients_status",
                                   placeholder=L("any"), format_func=lambda s: L(f"status_{s}"))
    open_case = row1[2].segmented_control(L("has_open_case"), ["yes", "no"],
                                          key="clients_open_case",
                                          format_func=lambda v: L(f"answer_{v}"))
    search = row1[3].text_input(L("search"), key="clients_search", max_chars=40)
    row2 = st.columns(4)
    aum_min = row2[0].number_input(L("aum_min"), min_value=0.0, value=None, step=10_000.0,
                                   key="clients_aum_min")
    aum_max = row2[1].number_input(L("aum_max"), min_value=0.0, value=None, step=10_000.0,
                                   key="clients_aum_max")
    change_min = row2[2].number_input(L("change_min"), value=None, step=10_000.0,
                                      key="clients_change_min")
    change_max = row2[3].number_input(L("change_max"), value=None, step=10_000.0,
                                      key="clients_change_max")
    name = "client_list"
    params = {"month": f.month, "branch_id": f.branch_param, "tier": f.tier_param,
              "manager_id": chosen_managers or None, "status": statuses or None,
              "has_open_case": open_case, "search": search or None, "aum_min": aum_min,
              "aum_max": aum_max, "change_min": change_min, "change_max": change_max}


def show_detail(client_id: str) -> None:
    """One client's months and retention cases."""
    st.subheader(L("client_detail", client=client_id))
    history = app_data.query("client_history", client_id=client_id)
    st.plotly_chart(charts.client_history_figure(history, f.lang), key="clients_history")
    shown_history, history_columns = charts.display_table(history, f.lang)
    st.dataframe(shown_history, hide_index=True, column_config=history_columns)
    cases = app_data.query("client_cases", client_id=client_id)
    if cases.empty:
        st.caption(L("no_cases"))
    else:
        shown_cases, case_columns = charts.display_table(cases, f.lang)
        st.dataframe(shown_cases, hide_index=True, column_config=case_columns)


# a list elsewhere can open one client's detail (its row of the month may not exist)
focus = drill.get("client") if drill else None
# every list here comes a page at a time (at bank scale a month, or a cell of the retention
# triangle, holds millions of rows), with the totals of every row
clients = app_data.query(name, **params, page_rows=SHOWN_ROWS)
if clients.empty:
    if focus:
        show_detail(focus)
    else:
        st.info(L("no_data"))
    st.stop()

first = clients.iloc[0]
listed = int(first["list_clients" if "list_clients" in clients else lists.TOTAL])
aum_total = first["list_aum"]
change_total = first["list_aum_change"] if "list_aum_change" in clients else None
clients = clients.drop(columns=[c for c in TOTALS if c in clients])
totals = st.columns(3)
totals[0].metric(L("list_clients"), count(listed))
totals[1].metric(L("aum_total"), money(aum_total, f.lang))
if change_total is not None:
    totals[2].metric(L("aum_change_total"), money(change_total, f.lang))

downloads = st.columns(3)
for column, fmt in zip(downloads, ("csv", "xlsx", "parquet")):
    column.download_button(
        L(f"download_{fmt}"),
        data=lambda fmt=fmt, version=app_data.lake_version(): app_data.export_file(
            name, params, fmt, user.name, version),
        file_name=f"tierflow-{name}-{f.month}.{fmt}", mime=MEDIA_TYPES[fmt],
        on_click="ignore", key=f"clients_download_{fmt}")

if listed > SHOWN_ROWS:
    st.caption(L("rows_shown", shown=count(SHOWN_ROWS), total=count(listed)))
shown, columns = charts.display_table(clients, f.lang)
picked = st.dataframe(shown, key="clients_table", hide_index=True, column_config=columns,
                      on_select="rerun", selection_mode="single-row")
if picked.selection.rows:
    show_detail(clients.iloc[picked.selection.rows[0]]["client_id"])
elif focus:
    show_detail(focus)
