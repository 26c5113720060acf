"""AUM migration: for two months, the tier transition matrix, its Sankey, the AUM bridge, and
upgrades and downgrades per branch and manager."""

import streamlit as st

from tierflow import app_data, charts, frame, history

f = frame.current()
L = f.label
st.header(L("page_migration"))

# the earlier month as months back from the sidebar's, so that a change of month keeps the
# comparison (month on month stays month on month); the widget keeps its choice by its label
back = [history.month_index(f.month) - history.month_index(m)
        for m in app_data.months() if m < f.month][::-1] or [0]
controls = st.columns([1, 1, 1, 2])
months_back = controls[0].selectbox(
    L("months_back_choice"), back, key="migration_back", bind="query-params",
    format_func=lambda n: L("month_before") if n == 1 else L("months_back", n=n),
    help=L("months_back_help"))
from_month = history.month_of(history.month_index(f.month) - months_back)
controls[1].selectbox(L("from_month"), [from_month], disabled=True, key="migration_from_shown")
controls[2].selectbox(L("to_month"), [f.month], disabled=True, key="migration_to_shown",
                      help=L("to_month_help"))
measure = controls[3].segmented_control(
    L("measure"), ["clients", "aum"], default="clients", required=True,
    key="migration_measure", format_func=lambda m: L(f"measure_{m}"))
span = {"from_month": from_month, "to_month": f.month, "branch_id": f.branch_param}

matrix = app_data.query("tier_transition", **span)
if matrix.empty:
    st.info(L("no_data"))
    st.stop()


def clients_of_cell(selection):
    """The clients behind a clicked cell of the matrix."""
    if not selection["points"]:
        return None
    from_tier, to_tier = selection["points"][0]["customdata"]
    title = (f"{charts.tier_label(from_tier, f.lang)} ({from_month}) → "
             f"{charts.tier_label(to_tier, f.lang)} ({f.month})")
    return "transition_clients", {**span, "from_tier": from_tier, "to_tier": to_tier}, title


left, right = st.columns(2)
with left:
    st.subheader(L("migration_matrix"))
    st.plotly_chart(charts.transition_heatmap(matrix, measure, f.lang), key="migration_matrix",
                    selection_mode="points",
                    on_select=frame.drill_on_select("migration_matrix", clients_of_cell))
with right:
    st.subheader(L("migration_flows"))
    st.plotly_chart(charts.transition_sankey(matrix, from_month, f.month, measure, f.lang),
                    key="migration_sankey")

st.subheader(L("migration_bridge"))
group_by = st.segmented_control(L("bridge_by"), ["tier", "branch"], default="tier",
                                required=True, key="migration_bridge_by",
                                format_func=lambda g: L(f"group_{g}"))
bridge = app_data.query("aum_bridge", **span, group_by=group_by)
left, right = st.columns([3, 2])
left.plotly_chart(charts.bridge_waterfall(bridge, f.lang), key="migration_waterfall")
shown, columns = charts.display_table(bridge, f.lang, codes={"group_key": group_by})
right.dataframe(shown, hide_index=True, column_config=columns, key="migration_bridge_table")

st.subheader(L("migration_moves"))
move_group = st.segmented_control(L("moves_by"), ["branch", "manager"], default="branch",
                                  required=True, key="migration_moves_by",
                                  format_func=lambda g: L(f"group_{g}"))
moves = app_data.query("migration_by_group", **span, group_by=move_group)
shown, columns = charts.display_table(moves, f.lang)
st.dataframe(shown, hide_index=True, column_config=columns, key="migration_moves_table")
