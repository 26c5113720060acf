"""Warnings for branch heads: today's or this month's early warnings of the chosen branches
(the warning rules' and the bank's own), by rule, severity, tier and manager; whether a
retention case answers each and how fast; coverage per branch; the list with downloads, where
selecting a warning opens the client."""

import calendar
import datetime as dt

import plotly.graph_objects as go
import streamlit as st

from tierflow import app_data, charts, frame, lists
from tierflow.export import MEDIA_TYPES
from tierflow.i18n import count, money, percent
from tierflow.warning_rules import RULES, SEVERITIES

SHOWN_ROWS = lists.SHOWN_ROWS  # rows drawn in the list; figures, downloads: every row
LIST_COLUMNS = ["raised_on", "rule", "severity", "client_id", "name", "branch_id", "manager_id",
                "tier", "amount", "warning_reason", "source", "case_id", "days_to_case", "warning_id"]

f = frame.current()
L = f.label
user = app_data.signed_in_user()
settings = app_data.runner().settings
st.header(L("page_warnings"))

# "Today" is the data's today: the chosen month's last day (its snapshot date) unless picked.
year, month = int(f.month[:4]), int(f.month[5:])
first_day = dt.date(year, month, 1)
last_day = dt.date(year, month, calendar.monthrange(year, month)[1])

row = st.columns([1.5, 1.1, 1.6, 1.2, 1.6])
view = row[0].segmented_control(L("warnings_view"), ["today", "month"], default="month",
                                key="warnings_view", required=True,
                                format_func=lambda v: L(f"warnings_view_{v}"))
day = None
if view == "today":
    day = row[1].date_input(L("warnings_day"), last_day, min_value=first_day,
                            max_value=last_day, key=f"warnings_day_{f.month}",
                            help=L("warnings_day_help", window=settings.maturity_window_days))
rules = row[2].multiselect(L("warnings_rule"), [*RULES, "other"], key="warnings_rules",
                           format_func=lambda r: charts.code_label("rule", r, f.lang),
                           placeholder=L("any"))
severities = row[3].multiselect(L("warnings_severity"), list(SEVERITIES),
                                key="warnings_severities", placeholder=L("any"),
                                format_func=lambda s: L(f"severity_{s}"))
manager_names = dict(app_data.query("managers", branch_id=f.branch_param)[
    ["manager_id", "manager_name"]].values)
managers = row[4].multiselect(L("warnings_manager"), list(manager_names),
                              key="warnings_managers", placeholder=L("any"),
                              format_func=lambda m: f"{m} {manager_names.get(m, '')}")
params = {"month": f.month, "raised_on": day, "branch_id": f.branch_param,
          "tier": f.tier_param, "rule": rules or None, "severity": severities or None,
          "manager_id": managers or None}

# the coverage by each dimension and the list's first page (the list comes a page at a time:
# at bank scale a month holds hundreds of thousands of warnings, with the count of every row;
# the downloads run the query without page_rows), asked at once
total, by_rule, by_branch, warnings = app_data.queries(
    *[("warning_coverage", {**params, "dimension": d}) for d in ("total", "rule", "branch")],
    ("warnings", {**params, "page_rows": SHOWN_ROWS}))
if total.empty:
    st.info(L("no_data"))
    st.stop()
total = total.iloc[0]
kpis = st.columns(6)
kpis[0].metric(L("kpi_warnings"), count(total["warnings"]))
kpis[1].metric(L("kpi_high_severity"), count(total["high_severity"]))
kpis[2].metric(L("kpi_amount_at_stake"), money(total["amount"], f.lang))
kpis[3].metric(L("kpi_with_case"), percent(total["case_rate"]))
kpis[4].metric(L("kpi_within_3d"), percent(total["within_3d_rate"]))
kpis[5].metric(L("kpi_within_7d"), percent(total["within_7d_rate"]))

left, right = st.columns([1, 1.3])
with left:
    st.subheader(L("warnings_by_rule"))
    st.caption(L("warnings_by_rule_help", days=settings.warning_case_days))
    names = [charts.code_label("rule", r, f.lang) for r in by_rule["dimension_value"]]
    # each rule's warnings split by how fast a case followed: ≤ 3 days, 4-7, later, none
    parts = {"bucket_within_3d": by_rule["within_3d"],
             "bucket_within_7d": by_rule["within_7d"] - by_rule["within_3d"],
             "bucket_later": by_rule["with_case"] - by_rule["within_7d"],
             "bucket_no_case": by_rule["warnings"] - by_rule["with_case"]}
    colours = ["#1a7f37", "#8cc084", "#f0b429", "#c9c9c9"]
    fig = go.Figure([go.Bar(y=names, x=values, name=L(key), orientation="h",
                            marker_color=colour, hovertemplate="%{y}: %{x:,}<extra></extra>")
                     for (key, values), colour in zip(parts.items(), colours)])
    fig.update_layout(barmode="stack", height=320, margin={"t": 30},
                      yaxis={"autorange": "reversed"}, xaxis={"title": L("kpi_warnings")},
                      legend={"orientation": "h", "y": -0.3, "traceorder": "normal"})
    st.plotly_chart(fig, key="warnings_by_rule")
with right:
    st.subheader(L("coverage_by_branch"))
    shown, columns = charts.display_table(
        by_branch[["dimension_value", "value_name", "warnings", "high_severity", "case_rate",
                   "within_3d_rate", "within_7d_rate", "avg_days_to_case"]], f.lang)
    columns["dimension_value"] = L("col_branch_id")
    columns["value_name"] = L("col_branch_name")
    columns["avg_days_to_case"] = st.column_config.NumberColumn(L("col_avg_days_to_case"),
                                                                format="%.1f")
    st.dataframe(shown, hide_index=True, column_config=columns, key="warnings_by_branch",
                 height=320)

st.subheader(L("warnings_list"))
listed_total = int(warnings["list_rows"].iloc[0]) if len(warnings) else 0
downloads = st.columns(3)
for column, fmt in zip(downloads, ("csv", "xlsx", "parquet")):
    column.download_button(
        L(f"download_{fmt}"),
        data=lambda fmt=fmt, version=app_data.lake_version(): app_data.export_file(
            "warnings", params, fmt, user.name, version),
        file_name=f"tierflow-warnings-{day or f.month}.{fmt}", mime=MEDIA_TYPES[fmt],
        on_click="ignore", key=f"warnings_download_{fmt}")
if listed_total > len(warnings):
    st.caption(L("warnings_rows_shown", shown=count(len(warnings)), total=count(listed_total)))
st.caption(L("warnings_list_help"))
listed = warnings.assign(
    warning_reason=lambda d: [charts.warning_reason(w, f.lang, settings.dormancy_months)
                      for w in d.to_dict("records")],
    source=lambda d: [L(f"source_{s}") for s in d["source"]])
shown, columns = charts.display_table(listed[LIST_COLUMNS], f.lang)


def open_client(selection):
    """A selected warning: its client on the Clients page, with the client's detail."""
    if not selection["rows"]:
        return None
    w = listed.iloc[selection["rows"][0]]
    return ("client_list", {"month": w["month"], "client_id": [w["client_id"]]},
            L("warning_drill_title", warning=w["warning_id"], client=w["client_id"]),
            w["client_id"])


st.dataframe(shown, hide_index=True, column_config=columns, key="warnings_table",
             on_select=frame.drill_on_select("warnings_table", open_client),
             selection_mode="single-row")
