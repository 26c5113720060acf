"""Retention per branch: success rates with their case counts, by channel, reason, measure,
handler and case type; the funnel from warning to retained client; days to first contact; AUM
after the case; and the ledger itself."""

import datetime as dt

import plotly.graph_objects as go
import streamlit as st

from tierflow import app_data, charts, frame, lists
from tierflow.i18n import count

SHOWN_ROWS = lists.SHOWN_ROWS  # ledger rows drawn; the downloads hold every case

f = frame.current()
L = f.label
st.header(L("page_retention"))

# The period: the twelve months ending with the chosen month, unless the user picks dates.
year, month = int(f.month[:4]), int(f.month[5:])
period_end = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1))
period_start = dt.date(year - 1 + (month == 12), month % 12 + 1, 1)
chosen = st.date_input(L("period"), (period_start, period_end), key="retention_period")
start, end = (chosen if len(chosen) == 2 else (chosen[0], chosen[0]))
period = {"from_date": start, "to_date": end, "branch_id": f.branch_param}

# the period's figures, asked at once (the breakdown by a dimension waits for its choice);
# the ledger's newest cases a page at a time, with the count of every case in the period (the
# downloads run the query without page_rows)
by_branch, funnel, delay, after, ledger = app_data.queries(
    ("retention_success", period), ("retention_funnel", period), ("contact_delay", period),
    ("post_case_aum", period), ("retention_ledger", {**period, "page_rows": SHOWN_ROWS}))
if by_branch.empty:
    st.info(L("no_cases_in_period"))
    st.stop()

st.subheader(L("success_by_branch"))
st.caption(L("success_by_branch_help"))
weighted = st.toggle(L("aum_weighted"), key="retention_aum_weighted")
rate = "aum_success_rate" if weighted else "success_rate"
ranked = by_branch.sort_values(rate, ascending=False)
st.plotly_chart(
    go.Figure(go.Bar(
        x=ranked["branch_id"], y=ranked[rate],
        # n above each bar while there is room for it; on hover always
        text=[f"n={n}" for n in ranked["closed_cases"]],
        textposition="outside" if len(ranked) <= 20 else "none",
        marker={"color": ranked["closed_cases"], "cmin": 0,
                "colorscale": [[0, "#c6dbef"], [1, "#08306b"]],
                "showscale": True,
                "colorbar": {"title": L("closed_cases")}},
        hovertemplate="%{x}: %{y:.1%} (%{text})<extra></extra>"),
        layout={"yaxis": {"tickformat": ".0%", "title": L(rate)}, "height": 380,
                "margin": {"t": 30},
                "xaxis": {"title": L("branch"), "type": "category"}}),
    key="retention_by_branch")

left, right = st.columns(2)
with left:
    st.subheader(L("success_by_dimension"))
    dimension = st.selectbox(
        L("dimension"), ["channel", "reason", "measure", "handler_role", "case_type",
                         "closed_month"],
        key="retention_dimension", format_func=lambda d: L(f"col_{d}"))
    by_dimension = app_data.query("retention_by_dimension", dimension=dimension, **period)
    shown, columns = charts.display_table(by_dimension, f.lang,
                                          codes={"dimension_value": dimension})
    st.dataframe(shown, hide_index=True, column_config=columns, key="retention_dimension_table")
with right:
    st.subheader(L("funnel"))
    st.plotly_chart(go.Figure(go.Funnel(
        y=[L(f"stage_{s}") for s in funnel["stage"]], x=funnel["cases"],
        textinfo="value+percent initial")), key="retention_funnel")

left, right = st.columns(2)
with left:
    st.subheader(L("contact_delay"))
    buckets = [L("no_contact") if b == "none" else b for b in delay["bucket"]]
    st.plotly_chart(go.Figure(go.Bar(x=buckets, y=delay["cases"]), layout={
        "xaxis": {"title": L("days_to_contact"), "type": "category"},
        "yaxis": {"title": L("cases")}, "height": 320, "margin": {"t": 30}}),
        key="retention_delay")
with right:
    st.subheader(L("aum_after_case"))
    fig = go.Figure()
    for column in ("aum_before", "aum_after_1m", "aum_after_3m"):
        values, axis = charts.money_values(after[column], f.lang)
        fig.add_bar(x=[L(f"outcome_{o}") for o in after["outcome"]], y=values,
                    name=L(column))
    fig.update_layout(barmode="group", height=320, margin={"t": 30}, yaxis=axis)
    st.plotly_chart(fig, key="retention_after")

st.subheader(L("ledger"))
cases = int(ledger["list_rows"].iloc[0]) if len(ledger) else 0
ledger = ledger.drop(columns=["list_rows"])
if cases > len(ledger):
    st.caption(L("ledger_rows_shown", shown=count(len(ledger)), total=count(cases)))
shown, columns = charts.display_table(ledger, f.lang)
st.dataframe(shown, hide_index=True, column_config=columns, key="retention_ledger_table")
lists.downloads("retention_ledger", period, "retention_ledger", f.lang,
                f"{period['from_date']}-{period['to_date']}")
