"""Dormant reactivation: dormant clients per branch over time, the reactivation rate, how deep
reactivations go on the five signals, how long reactivated clients stay active, and the dormant
clients with the most AUM to call first."""

import altair as alt
import streamlit as st

from tierflow import app_data, charts, frame, lists
from tierflow.i18n import count, money, percent

f = frame.current()
L = f.label
st.header(L("page_dormant") + f" · {f.month}")
months_rule = app_data.runner().settings.dormancy_months
st.caption(L("dormant_definition", months=months_rule, before=months_rule - 1))

trend = app_data.query("dormancy_trend", branch_id=f.branch_param)
overall = trend[trend["branch_id"].isna()].set_index("month")
if overall.empty or overall.loc[f.month, "present_clients"] == 0:
    st.info(L("no_data"))
    st.stop()

# The period for depth and the reactivated list: the twelve months ending with the chosen one.
months = list(overall.index)
period = {"from_month": months[max(0, months.index(f.month) - 11)], "to_month": f.month,
          "branch_id": f.branch_param}
call_params = {"month": f.month, "branch_id": f.branch_param, "tier": f.tier_param}
# the page's other questions, asked at once (the lists are asked in their tabs)
depth, survival = app_data.queries(
    ("reactivation_depth", period), ("reactivation_survival", {"branch_id": f.branch_param}))
survival = survival.set_index("months_since")

now = overall.loc[f.month]
cards = st.columns(6)
cards[0].metric(L("kpi_dormant"), count(now["dormant"]))
cards[0].caption(L("dormant_share_caption", share=percent(now["dormant_share"])))
cards[1].metric(L("kpi_dormant_aum"), money(now["dormant_aum"], f.lang))
cards[2].metric(L("kpi_reactivated"), count(now["reactivated"]))
cards[2].caption(L("of_dormant_before", n=count(now["dormant_before"])))
cards[3].metric(L("kpi_reactivation_rate"), percent(now["reactivation_rate"]))
cards[4].metric(L("kpi_reactivations_period"), count(depth["reactivated"].iloc[0]))
cards[4].caption(f"{period['from_month']} – {period['to_month']}")
cards[5].metric(L("kpi_still_active_6"), percent(survival["survival_rate"].get(6)))
cards[5].caption(f"n={count(survival['reactivated'].get(6))}")

st.subheader(L("dormant_trend_title"))
st.plotly_chart(charts.dormancy_figure(overall.reset_index(), f.lang), key="dormant_trend")

st.subheader(L("dormant_by_branch_title"))
st.caption(L("dormant_by_branch_help"))
by_branch = trend[trend["branch_id"].notna()]


def clients_of_cell(selection):
    """The dormant clients of a clicked branch and month."""
    if not selection["points"]:
        return None
    month, branch = selection["points"][0]["customdata"]
    return ("dormant_clients", {"month": month, "branch_id": [branch]},
            L("call_list_title", month=f"{branch} · {month}"))


st.plotly_chart(charts.dormant_heatmap(by_branch, f.lang), key="dormant_by_branch",
                selection_mode="points",
                on_select=frame.drill_on_select("dormant_by_branch", clients_of_cell))

left, right = st.columns(2)
with left:
    st.subheader(L("depth_title", start=period["from_month"], end=period["to_month"]))
    st.caption(L("depth_help"))
    shares = depth.assign(label=[L(f"signal_{s}") for s in depth["signal"]])
    st.altair_chart(
        alt.Chart(shares).mark_bar(color="#2e86c1").encode(
            x=alt.X("signal_share:Q", title=L("col_signal_share"), axis=alt.Axis(format="%"),
                    scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("label:N", title=None, sort=None, axis=alt.Axis(labelLimit=220)),
            tooltip=[alt.Tooltip("label:N", title=L("col_signal")),
                     alt.Tooltip("signal_on:Q", title=L("col_signal_on"), format=","),
                     alt.Tooltip("compared:Q", title=L("col_compared"), format=","),
                     alt.Tooltip("signal_share:Q", title=L("col_signal_share"), format=".1%")],
        ).properties(height=220),
        key="dormant_depth")
with right:
    st.subheader(L("survival_title"))
    st.caption(L("survival_help"))
    curve = survival.reset_index()
    st.altair_chart(
        alt.Chart(curve[curve["months_since"] <= 24]).mark_line(point=True).encode(
            x=alt.X("months_since:Q", title=L("months_after_reactivation")),
            # from 50% (or lower, when the curve goes there) to 100%: no exaggerated drop
            y=alt.Y("survival_rate:Q", title=L("col_survival_rate"), axis=alt.Axis(format="%"),
                    scale=alt.Scale(domain=[min(0.5, float(curve["survival_rate"].min())
                                                if len(curve) else 0.5), 1])),
            tooltip=[alt.Tooltip("months_since:Q", title=L("months_after_reactivation")),
                     alt.Tooltip("reactivated:Q", title=L("col_reactivated"), format=","),
                     alt.Tooltip("survival_rate:Q", title=L("col_survival_rate"),
                                 format=".1%")],
        ).properties(height=220),
        key="dormant_survival")

# Each list runs only while its tab is open (a tab switch reruns the page): either is a first
# page of up to a thousand clients with their names, at 5M clients some 0.2 s of the page's
# queries. Both come a page at a time (at bank scale they hold hundreds of thousands), with
# the count of every row; the downloads run the queries without page_rows: every row.
page = {"page_rows": lists.SHOWN_ROWS}
call_tab, reactivated_tab = st.tabs([L("call_list_tab"), L("reactivated_list_tab")],
                                    key="dormant_lists", on_change="rerun")
if call_tab.open:
    with call_tab:
        st.caption(L("call_list_title", month=f.month))
        lists.client_table(
            app_data.query("dormant_clients", **call_params, **page), name="dormant_clients",
            params=call_params, key="dormant_call_list", month=f.month, lang=f.lang,
            stamp=f.month)
if reactivated_tab.open:
    with reactivated_tab:
        st.caption(L("reactivated_list_title", start=period["from_month"],
                     end=period["to_month"]))
        lists.client_table(
            app_data.query("reactivated_clients", **period, **page),
            name="reactivated_clients", params=period, key="dormant_reactivated_list",
            month=f.month, lang=f.lang, stamp=f"{period['from_month']}-{period['to_month']}",
            columns=["client_id", "name", "branch_id", "branch_name", "reactivated_month",
                     "quiet_since", "aum", "depth", "trading_resumed", "volume_up",
                     "products_up", "frequency_up", "fees_up"])
