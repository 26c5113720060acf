"""Tier distribution: clients and AUM by tier over time and by branch, wealth concentration,
and the figure that matters for each tier."""

import altair as alt
import streamlit as st

from tierflow import app_data, charts, frame
from tierflow.i18n import count, money, percent

f = frame.current()
L = f.label
st.header(L("page_tiers") + f" · {f.month}")

controls = st.columns([2, 1])
measure = controls[0].segmented_control(
    L("measure"), ["clients", "aum"], default="clients", required=True, key="tiers_measure",
    format_func=lambda m: L(f"measure_{m}"))
share = controls[1].toggle(L("show_share"), key="tiers_share")

# the page's questions, asked at once
trend, key_figures, by_branch, curve = app_data.queries(
    ("tier_trend", {"branch_id": f.branch_param}),
    *[(name, {"month": f.month, "branch_id": f.branch_param})
      for name in ("tier_key_figures", "branch_tiers", "wealth_concentration")])
key_figures = key_figures.set_index("tier")
if f.tiers:
    trend = trend[trend["tier"].isin(f.tiers)]
if trend[measure].sum() == 0:
    st.info(L("no_data"))
    st.stop()

st.subheader(L("tiers_over_time"))
st.plotly_chart(charts.tier_trend_figure(trend, measure, share, f.lang), key="tiers_trend")

st.subheader(L("tiers_key_figures"))
cards = st.columns(5)
for column, tier in zip(cards, key_figures.index):
    row = key_figures.loc[tier]
    if tier in ("diamond", "private"):  # managed for stickiness: assets under management
        value, caption = money(row["aum"], f.lang), L("kf_aum")
    elif tier in ("gold", "platinum"):  # managed for cross-selling
        value = "–" if row["products_per_client"] != row["products_per_client"] \
            else f"{row['products_per_client']:.2f}"
        caption = L("kf_products", rate=percent(row["cross_sell_rate"]))
    else:  # mass: managed for transactions
        value, caption = percent(row["active_rate"]), L("kf_active")
    column.metric(charts.tier_label(tier, f.lang) + f" · {count(row['clients'])}", value)
    column.caption(caption)



def clients_of_segment(selection):
    """The clients behind a clicked branch × tier segment."""
    if not selection["points"]:
        return None
    branch_id, tier = selection["points"][0]["customdata"]
    return ("client_list", {"month": f.month, "branch_id": [branch_id], "tier": [tier]},
            f"{branch_id} · {charts.tier_label(tier, f.lang)} · {f.month}")


left, right = st.columns(2)
with left:
    st.subheader(L("tiers_by_branch"))
    if f.tiers:
        by_branch = by_branch[by_branch["tier"].isin(f.tiers)]
    st.plotly_chart(charts.branch_tier_figure(by_branch, measure, share, f.lang),
                    key="tiers_by_branch", selection_mode="points",
                    on_select=frame.drill_on_select("tiers_by_branch", clients_of_segment))
with right:
    st.subheader(L("tiers_concentration"))
    top20 = curve.loc[curve["top_percent"] == 20, "aum_share"]
    if not top20.empty:
        st.metric(L("top20_hold"), percent(top20.iloc[0]))
    st.altair_chart(
        alt.Chart(charts.from_origin(curve)).mark_line(point=False).encode(
            x=alt.X("client_share:Q", title=L("client_share_axis"), axis=alt.Axis(format="%")),
            y=alt.Y("aum_share:Q", title=L("aum_share_axis"), axis=alt.Axis(format="%")),
            tooltip=[alt.Tooltip("top_percent:Q", title=L("top_percent")),
                     alt.Tooltip("aum_share:Q", title=L("aum_share_axis"), format=".1%")],
        ).properties(height=320),
        key="tiers_lorenz")
