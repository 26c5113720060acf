"""Churn cohorts: the retention triangle, retention curves, churn by month and by group, and the
monthly lifecycle of clients (new, retained, resurrected, churned)."""

import altair as alt
import streamlit as st

from tierflow import app_data, charts, frame
from tierflow.settings import CHURN_DEFINITIONS

f = frame.current()
L = f.label
st.header(L("page_churn"))

controls = st.columns([2, 1])
definition = controls[0].segmented_control(
    L("churn_definition"), list(CHURN_DEFINITIONS), required=True, key="churn_definition",
    default=app_data.runner().settings.churn_definition, bind="query-params",
    format_func=lambda d: L(f"churn_{d}"))
weighting = controls[1].segmented_control(
    L("weighting"), ["retention_rate", "aum_retention_rate"], default="retention_rate",
    required=True, key="churn_weighting", format_func=lambda w: L(f"weight_{w}"))
cohort_params = {"branch_id": f.branch_param, "churn_definition": definition}

# the page's questions, asked at once (the breakdown waits for its dimension's choice)
triangle, monthly, life = app_data.queries(
    ("cohort_retention", cohort_params), ("churn_monthly", cohort_params),
    ("lifecycle", {"branch_id": f.branch_param}))
if triangle.empty:
    st.info(L("no_data"))
    st.stop()


def clients_of_cohort_cell(selection):
    """The retained clients behind a clicked cell of the triangle."""
    if not selection["points"]:
        return None
    cohort_month, months_since = selection["points"][0]["customdata"]
    return ("cohort_clients", {**cohort_params, "cohort_month": cohort_month,
                               "months_since": months_since, "retained": "yes"},
            L("cohort_cell", cohort=cohort_month, k=months_since))


st.subheader(L("churn_triangle"))
st.plotly_chart(charts.cohort_heatmap(triangle, weighting, f.lang), key="churn_triangle",
                selection_mode="points",
                on_select=frame.drill_on_select("churn_triangle", clients_of_cohort_cell))

left, right = st.columns(2)
with left:
    st.subheader(L("churn_curves"))
    recent = triangle[triangle["cohort_month"].isin(
        sorted(triangle["cohort_month"].unique())[-12:])]
    st.altair_chart(
        alt.Chart(recent).mark_line().encode(
            x=alt.X("months_since:Q", title=L("months_since")),
            y=alt.Y(f"{weighting}:Q", title=L(f"weight_{weighting}"), axis=alt.Axis(format="%")),
            color=alt.Color("cohort_month:N", title=L("cohort_month")),
            tooltip=["cohort_month", "months_since",
                     alt.Tooltip(f"{weighting}:Q", format=".1%")],
        ).properties(height=340),
        key="churn_curves")
with right:
    st.subheader(L("churn_rate_by_month"))
    st.altair_chart(
        alt.Chart(monthly).mark_line(point=True).encode(
            x=alt.X("month:O", title=L("month")),
            y=alt.Y("churn_rate:Q", title=L("churn_rate"), axis=alt.Axis(format="%")),
            tooltip=["month", "at_risk", "churned", alt.Tooltip("churn_rate:Q", format=".2%")],
        ).properties(height=340),
        key="churn_monthly_chart")

st.subheader(L("churn_breakdown"))
dimension = st.segmented_control(L("breakdown_by"), ["branch", "tier", "segment"],
                                 default="branch", required=True, key="churn_dimension",
                                 format_func=lambda d: L(f"dimension_{d}"))
breakdown = app_data.query("cohort_breakdown", **cohort_params, dimension=dimension)
shown, columns = charts.display_table(breakdown, f.lang, codes={"group_key": dimension})
st.dataframe(shown, hide_index=True, column_config=columns, key="churn_breakdown_table")

st.subheader(L("churn_lifecycle"))
st.plotly_chart(charts.lifecycle_figure(life, f.lang), key="churn_lifecycle")
