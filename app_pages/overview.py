"""Overview: headline KPIs against last month and a year ago, and the branch league table."""

import streamlit as st

from tierflow import app_data, charts, frame
from tierflow.i18n import count, money, percent, points

f = frame.current()
L = f.label
st.header(L("page_overview") + f" · {f.month}")

# the page's questions, asked at once
totals, churn, success, league, trend = app_data.queries(
    ("monthly_totals", {"branch_id": f.branch_param}),
    ("churn_monthly", {"branch_id": f.branch_param, "churn_definition": "vip_to_mass"}),
    ("retention_by_dimension", {"dimension": "closed_month", "branch_id": f.branch_param}),
    ("branch_league", {"month": f.month, "branch_id": f.branch_param}),
    ("branch_aum_trend", {"branch_id": f.branch_param}))
totals = totals.set_index("month")
churn = churn.set_index("month")
success = success.set_index("dimension_value")

if totals.loc[f.month, "clients"] == 0:
    st.info(L("no_data"))
    st.stop()

months = list(totals.index)
at = months.index(f.month)
compare = {"mom": months[at - 1] if at >= 1 else None,
           "yoy": months[at - 12] if at >= 12 else None}


def kpi(column, frame_, field, render, label_key, relative=True, lower_is_better=False,
        basis=None):
    """One KPI card: value this month, change against last month, and against a year ago
    (relative for amounts, in percentage points for rates); `basis` names the column that
    counts what a rate is computed from, shown as n."""
    now = frame_[field].get(f.month)
    deltas = {}
    for which, month in compare.items():
        before = frame_[field].get(month) if month else None
        if now is None or before is None or before != before:
            deltas[which] = None
        elif relative:
            deltas[which] = percent(now / before - 1) if before else None
        elif render is percent:
            deltas[which] = points(now - before, f.lang)
        else:
            deltas[which] = render(now - before)
    column.metric(L(label_key), render(now) if now is not None else "–",
                  delta=deltas["mom"] and f"{deltas['mom']} {L('vs_last_month')}",
                  delta_color="inverse" if lower_is_better else "normal",
                  help=L("kpi_help_" + field))
    caption = f"{L('vs_year_ago')}: {deltas['yoy'] or '–'}"
    if basis is not None:
        caption += f" · n={count(frame_[basis].get(f.month, 0))}"
    column.caption(caption)


cards = st.columns(6)
kpi(cards[0], totals, "total_aum", lambda v: money(v, f.lang), "kpi_total_aum")
kpi(cards[1], totals, "clients", count, "kpi_clients")
kpi(cards[2], totals, "vip_clients", count, "kpi_vip_clients")
kpi(cards[3], totals, "net_upgrades", lambda v: f"{v:+,.0f}", "kpi_net_upgrades",
    relative=False)
kpi(cards[4], churn, "churn_rate", percent, "kpi_vip_churn_rate", relative=False,
    lower_is_better=True, basis="at_risk")
kpi(cards[5], success, "success_rate", percent, "kpi_success_rate", relative=False,
    basis="closed_cases")

st.subheader(L("league_title"))
columns = ["branch_id", "branch_name", "clients", "aum", "growth_mom", "growth_yoy",
           "vip_share", "vip_churn_rate", "success_rate_12m", "closed_cases_12m"]
shown, config = charts.display_table(league[columns], f.lang)
shown.insert(4, "trend", league["branch_id"].map(charts.series_by(trend, "branch_id", "aum")))
config["trend"] = st.column_config.LineChartColumn(L("aum_trend"), width="small")
shown.insert(7, "tier_mix", charts.tier_mix(league))
config["tier_mix"] = st.column_config.BarChartColumn(L("tier_mix"), width="small", y_min=0,
                                                     help=L("tier_mix_help"))
config["vip_share"] = st.column_config.ProgressColumn(L("vip_share"), format="%.1f%%",
                                                      min_value=0, max_value=100)
selection = st.dataframe(shown, key="overview_league", hide_index=True, on_select="rerun",
                         selection_mode="single-row", column_config=config, row_height=35)
chosen = selection.selection.rows
if chosen:
    branch = league.iloc[chosen[0]]
    st.text(L("league_chosen", branch=f"{branch['branch_id']} {branch['branch_name']}"))
    open_view, list_clients = st.columns(2)
    open_view.button(L("open_branch_view"), key="overview_open_branch",
                     on_click=frame.open_branch, args=(branch["branch_id"], "app_pages/tiers.py"))
    list_clients.button(
        L("show_clients"), key="overview_branch_clients", on_click=frame.drill,
        args=("client_list", {"month": f.month, "branch_id": [branch["branch_id"]],
                              "status": ["normal", "dormant"]},
              L("league_chosen", branch=f"{branch['branch_id']} · {f.month}")))
