"""Tier distribution: clients and AUM per tier in the chosen month."""

import plotly.express as px
import streamlit as st

from tierflow import app_data

month = st.session_state["month"]
st.header(f"Tier distribution · {month}")

tiers = app_data.query("tier_distribution", month=month)
if tiers["clients"].sum() == 0:
    st.info(f"No clients are present in {month}.")
    st.stop()

total_clients, total_aum = int(tiers["clients"].sum()), float(tiers["aum"].sum())
left, right = st.columns(2)
left.metric("Clients", f"{total_clients:,}")
right.metric("AUM (RMB)", f"{total_aum / 1e9:,.2f} B")

counts, money = st.columns(2)
counts.plotly_chart(px.bar(tiers, x="tier", y="clients", title="Clients by tier"))
money.plotly_chart(px.bar(tiers, x="tier", y="aum", title="AUM by tier (RMB)"))
st.dataframe(tiers, hide_index=True)
