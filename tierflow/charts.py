"""Chart and table helpers shared by the pages: the tier colour scale, labels, money units.

The tier colours come from `.streamlit/config.toml` (`theme.chartCategoricalColors`, in the
order mass, gold, platinum, diamond, private, new, exited), so the theme and every chart use
one scale. Figures are built here from query results so the pages stay a description of the
layout.
"""

from __future__ import annotations

import html
import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from tierflow import contract
from tierflow.i18n import count, labels, money, percent, t
from tierflow.settings import TIER_CODES

TIER_ORDER = (*TIER_CODES, "new", "exited")


def tier_colors() -> dict[str, str]:
    return dict(zip(TIER_ORDER, st.get_option("theme.chartCategoricalColors")))


def tier_label(code: str, lang: str) -> str:
    return t(f"tier_{code}", lang)


def money_unit(lang: str) -> tuple[float, str]:
    """Divisor and unit for money columns in tables: 万元 in Chinese, millions in English."""
    return (1e4, t("unit_wan", lang)) if lang == "zh" else (1e6, t("unit_million", lang))


def series_by(df: pd.DataFrame, key: str, value: str) -> pd.Series:
    """Long rows (key, ..., value) in order → one list of values per key (table trend lines)."""
    return df.groupby(key, sort=False)[value].agg(list)


def is_money(column: str) -> bool:
    """Money columns by name: aum…, …_aum, amount, …_amount and the AUM parts (all RMB)."""
    return (column.startswith("aum") and "rate" not in column) or column.endswith("_aum") \
        or column.endswith("_amount") \
        or column in ("amount", "turnover", "fee_income", "staying_change")


def is_rate(column: str) -> bool:
    return column.endswith(("_rate", "_share")) or column.startswith(("growth_", "ratio_")) \
        or column.startswith("rate_")


def _given(code) -> bool:
    """A code cell that holds a code: not empty, None or NaN (pandas 3 keeps a missing string
    as NaN, which is truthy)."""
    return isinstance(code, str) and code != ""


def _enum_words() -> dict[str, dict[str, str]]:
    """Chinese words for the contract's codes (its first Chinese alias of each code)."""
    words: dict[str, dict[str, str]] = {}
    for table in contract.TABLES.values():
        for col in table.columns:
            if col.kind == contract.ENUM:
                for alias, code in col.values.items():
                    if not alias.isascii():
                        words.setdefault(col.name, {}).setdefault(code, alias)
    return words


ENUM_WORDS = _enum_words()


def code_label(kind: str, code, lang: str):
    """A code shown as a word: tiers and statuses by their labels, the contract's codes
    (channel, reason, measure, outcome, ...) by their Chinese names or as English words."""
    if not _given(code):
        return code
    if kind in ("tier", "from_tier", "to_tier", "tier_at_k"):
        return tier_label(code, lang)
    if kind == "status":
        return t(f"status_{code}", lang)
    if lang == "zh" and code in ENUM_WORDS.get(kind, {}):
        return ENUM_WORDS[kind][code]
    return code.replace("_", " ").capitalize() if kind in ENUM_WORDS else code


def display_table(df: pd.DataFrame, lang: str,
                  codes: dict[str, str] | None = None) -> tuple[pd.DataFrame, dict]:
    """A query result ready for st.dataframe: headers in the language, money in 万元 / M RMB,
    rates as percentages with one decimal, dates as dates, codes as words. `codes` names the
    kind of code a column holds when its name does not say (e.g. group_key → tier)."""
    kinds = {c: c for c in df.columns if c in ENUM_WORDS or c.endswith("tier")
             or c in ("tier_at_k", "status")}
    kinds.update(codes or {})
    divisor, unit = money_unit(lang)
    shown = df.copy()
    config = {}
    for column in df.columns:
        key = f"col_{column}"
        label = t(key, lang) if key in labels() else column
        numeric = pd.api.types.is_numeric_dtype(df[column])
        if column in kinds:
            # each code once (a page of 1,000 rows holds a handful), empty cells as they were
            words = {c: code_label(kinds[column], c, lang) for c in df[column].dropna().unique()}
            shown[column] = df[column].map(words).where(df[column].notna(), df[column])
            config[column] = st.column_config.TextColumn(label)
        elif is_money(column) and numeric:
            shown[column] = df[column] / divisor
            config[column] = st.column_config.NumberColumn(f"{label} ({unit})", format="%,.2f")
        elif is_rate(column) and numeric:
            shown[column] = df[column] * 100
            config[column] = st.column_config.NumberColumn(label, format="%.1f%%")
        elif column.endswith("_on") or column.endswith("_date"):
            shown[column] = pd.to_datetime(df[column])
            config[column] = st.column_config.DateColumn(label, format="YYYY-MM-DD")
        else:
            config[column] = label
    return shown, config


def warning_reason(warning: dict, lang: str, dormancy_months: int) -> str:
    """Why a warning was raised, in words, from a row of the warnings query; a delivered
    warning says what the bank's note says."""
    rule, before, now = warning.get("rule"), warning.get("aum_earlier"), warning.get("aum")
    if warning.get("source") != "computed":
        return warning["note"] if _given(warning.get("note")) else ""
    if rule == "large_outflow":
        share = (before - now) / before if before else None
        return t("reason_large_outflow", lang, before=money(before, lang),
                 now=money(now, lang), share=percent(share))
    if rule == "downgrade":
        return t("reason_downgrade", lang, before=tier_label(warning["tier_before"], lang),
                 now=tier_label(warning["tier"], lang))
    if rule == "activity_drop":
        return t("reason_activity_drop", lang, now=count(warning["txn_count"]),
                 before=f"{warning['txn_average']:,.1f}")
    if rule == "maturity":
        return t("reason_maturity", lang,
                 product=code_label("product_type", warning["product_type"], lang),
                 amount=money(warning["amount"], lang), due=str(warning["due_on"])[:10])
    if rule == "dormancy":
        return (t("reason_dormant_status", lang) if warning.get("status") == "dormant"
                else t("reason_dormancy", lang, months=dormancy_months))
    return ""


def tier_mix(league: pd.DataFrame) -> pd.Series:
    """Each branch's clients per tier, mass to private, as one list (a bar column)."""
    counts = league[[f"{tier}_clients" for tier in TIER_CODES]]
    return pd.Series(counts.values.tolist(), index=league.index)


def money_values(values, lang: str) -> tuple[list[float], dict]:
    """Money on a chart axis: plotly cannot write 万/亿 ticks, so in Chinese the values are in
    万元 (said in the axis title); in English RMB with K/M/B ticks. Returns the values and the
    axis layout."""
    floats = [float(v) for v in values]
    if lang == "zh":
        return [v / 1e4 for v in floats], {"title": f"{t('aum_short', lang)}（{t('unit_wan', lang)}）",
                                          "tickformat": ",.0f"}
    return floats, {"title": t("aum", lang), "tickformat": "~s"}


def client_history_figure(history: pd.DataFrame, lang: str) -> go.Figure:
    """One client's AUM by month, each point coloured by that month's tier."""
    colors = tier_colors()
    values, axis = money_values(history["aum"], lang)
    fig = go.Figure(go.Scatter(
        x=history["month"], y=values, mode="lines+markers",
        marker={"color": [colors.get(c, "#cccccc") for c in history["tier"].fillna("exited")],
                "size": 9},
        line={"color": "#b0b0b0"},
        text=[f"{tier_label(c, lang) if _given(c) else t('status_closed', lang)}: {money(a, lang)}"
              for c, a in zip(history["tier"], history["aum"])],
        hoverinfo="x+text"))
    fig.update_layout(xaxis_title=t("month", lang), yaxis=axis, xaxis_type="category",
                      height=320, margin={"t": 20})
    return fig


def tier_trend_figure(trend: pd.DataFrame, measure: str, share: bool, lang: str) -> go.Figure:
    """Clients or AUM by tier over the months, stacked; as shares of the month when asked."""
    colors = tier_colors()
    totals = trend.groupby("month")[measure].transform("sum")
    fig = go.Figure()
    axis = {"title": t("share", lang) if share else t(f"measure_{measure}", lang),
            "tickformat": ".0%" if share else None}
    for tier, rows in trend.groupby("tier", sort=False):
        values = rows[measure] / totals[rows.index] if share else rows[measure]
        if measure == "aum" and not share:
            values, axis = money_values(values, lang)
        fig.add_bar(x=rows["month"], y=values, name=tier_label(tier, lang),
                    marker_color=colors[tier],
                    customdata=[[tier]] * len(rows),
                    hovertemplate="%{x}: %{y:" + (".1%" if share else ",.0f") + "}")
    fig.update_layout(barmode="stack", legend_title_text=t("tiers", lang),
                      xaxis_title=t("month", lang), xaxis_type="category", yaxis=axis,
                      height=380, margin={"t": 30})
    return fig


def plain_text(value: str) -> str:
    """Text from the data as plotly shows it literally: plotly reads <b>, <a href> and the like
    in labels as markup, so the angle brackets go in as entities."""
    return html.escape(value, quote=False)


def branch_tier_figure(rows: pd.DataFrame, measure: str, share: bool, lang: str) -> go.Figure:
    """One horizontal stacked bar per branch, split by tier; click a segment to drill."""
    colors = tier_colors()
    totals = rows.groupby("branch_id")[measure].transform("sum")
    fig = go.Figure()
    for tier, part in rows.groupby("tier", sort=False):
        values = part[measure] / totals[part.index] if share else part[measure]
        names = (part["branch_id"] + " " + part["branch_name"].fillna("")).map(plain_text)
        fig.add_bar(y=names, x=values,
                    orientation="h", name=tier_label(tier, lang), marker_color=colors[tier],
                    customdata=list(zip(part["branch_id"], part["tier"])))
    fig.update_layout(barmode="stack", height=max(320, 22 * rows["branch_id"].nunique()),
                      xaxis_tickformat=".0%" if share else None, margin={"t": 30},
                      yaxis={"autorange": "reversed"}, legend_title_text=t("tiers", lang))
    return fig


def click_targets(fig: go.Figure, xs, ys, customdata, text, hovertemplate: str) -> None:
    """Make a heatmap's cells clickable: Streamlit (1.67) reports no selected point for a click
    on a heatmap, so an invisible marker on each cell (with the cell's customdata and hover
    text) takes the click. Cells without text (empty, as in a triangle) get no marker."""
    cells = [(x, y, customdata[i][j], text[i][j]) for i, y in enumerate(ys)
             for j, x in enumerate(xs) if text[i][j] is not None]
    # as arrays: plotly checks a list item by item, an array at once (60 branches × 36
    # months: 60 ms as lists, 10 ms as arrays)
    x, y, data, label = (np.array([c[k] for c in cells], dtype=object) for k in range(4))
    fig.add_scatter(
        x=x, y=y, customdata=data, text=label, mode="markers", showlegend=False,
        marker={"symbol": "square", "size": 30, "opacity": 0},
        hovertemplate=hovertemplate + "<extra></extra>")


def transition_heatmap(matrix: pd.DataFrame, measure: str, lang: str) -> go.Figure:
    """From-tier rows × to-tier columns, counts or AUM; a click on a cell drills to its clients."""
    rows = [c for c in ("new", *TIER_CODES) if c in set(matrix["from_tier"])]
    cols = [c for c in (*TIER_CODES, "exited") if c in set(matrix["to_tier"])]
    value = {"clients": "clients", "aum": "aum_to"}[measure]
    grid = matrix.pivot(index="from_tier", columns="to_tier", values=value).reindex(
        index=rows, columns=cols).fillna(0)
    fig = go.Figure(go.Heatmap(
        z=grid.values, x=[tier_label(c, lang) for c in cols], y=[tier_label(r, lang) for r in rows],
        customdata=[[[r, c] for c in cols] for r in rows],
        text=[[(money(v, lang) if measure == "aum" else f"{v:,.0f}") for v in line]
              for line in grid.values],
        texttemplate="%{text}", colorscale="Blues", showscale=False, hoverinfo="skip"))
    heat = fig.data[0]
    click_targets(fig, heat.x, heat.y, heat.customdata, heat.text, "%{y} → %{x}: %{text}")
    fig.update_layout(xaxis_title=t("to_tier", lang), yaxis_title=t("from_tier", lang),
                      yaxis_autorange="reversed", xaxis_tickangle=0, height=420,
                      margin={"t": 30})
    return fig


def transition_sankey(matrix: pd.DataFrame, from_month: str, to_month: str, measure: str,
                      lang: str) -> go.Figure:
    """Flows from each tier in one month to each tier in the other, nodes labelled by month."""
    colors = tier_colors()
    left = [c for c in ("new", *TIER_CODES) if c in set(matrix["from_tier"])]
    right = [c for c in (*TIER_CODES, "exited") if c in set(matrix["to_tier"])]
    labels_ = [f"{tier_label(c, lang)} ({from_month})" for c in left] + \
              [f"{tier_label(c, lang)} ({to_month})" for c in right]
    # AUM flows are sized by where the money ends up; an exit by what left.
    value = matrix["clients"] if measure == "clients" else matrix["aum_to"].where(
        matrix["to_tier"] != "exited", matrix["aum_from"])
    fig = go.Figure(go.Sankey(
        arrangement="snap",
        node={"label": labels_, "color": [colors[c] for c in left + right], "pad": 18},
        link={"source": [left.index(c) for c in matrix["from_tier"]],
              "target": [len(left) + right.index(c) for c in matrix["to_tier"]],
              "value": value.astype(float).tolist(),
              # each flow in its source tier's colour, see-through so crossings stay legible
              "color": [_with_alpha(colors[c], 0.35) for c in matrix["from_tier"]]},
        textfont={"color": "#1b1b1b", "size": 12}))
    fig.update_layout(height=460, margin={"t": 30})
    return fig


def bridge_waterfall(bridge: pd.DataFrame, lang: str) -> go.Figure:
    """Opening AUM + new clients + change of staying clients − exited = closing AUM."""
    steps = [("opening", bridge["opening_aum"].sum(), "absolute"),
             ("new", bridge["new_aum"].sum(), "relative"),
             ("staying", bridge["staying_change"].sum(), "relative"),
             ("exited", -bridge["exited_aum"].sum(), "relative"),
             ("closing", bridge["closing_aum"].sum(), "total")]
    values, axis = money_values([v for _, v, _ in steps], lang)
    fig = go.Figure(go.Waterfall(
        x=[t(f"bridge_{name}", lang) for name, _, _ in steps],
        y=values, measure=[m for _, _, m in steps],
        text=[money(float(v), lang) for _, v, _ in steps], textposition="outside",
        connector={"line": {"color": "#b0b0b0"}}))
    fig.update_layout(height=380, margin={"t": 30}, yaxis=axis, xaxis_tickangle=0)
    return fig


def cohort_heatmap(triangle: pd.DataFrame, value: str, lang: str) -> go.Figure:
    """The retention triangle: cohorts by row, months since entry by column."""
    grid = triangle.pivot(index="cohort_month", columns="months_since", values=value)
    sizes = triangle.groupby("cohort_month")["cohort_size"].first().reindex(grid.index)
    fig = go.Figure(go.Heatmap(
        z=grid.values, x=list(grid.columns), y=[f"{m} (n={n:,})" for m, n in sizes.items()],
        # the scale spans the rates shown (in tenths), so close rates still look different
        colorscale="Blues", zmin=math.floor(np.nanmin(grid.values) * 10) / 10,
        zmax=max(1.0, float(np.nanmax(grid.values))), hoverinfo="skip",
        # percentages in the cells only while they are big enough to read
        texttemplate="%{z:.0%}" if grid.shape[1] <= 18 else None))
    heat = fig.data[0]
    click_targets(fig, heat.x, heat.y,
                  [[[m, int(k)] for k in grid.columns] for m in grid.index],
                  [[f"{v:.1%}" if v == v else None for v in line] for line in grid.values],
                  "%{y}, +%{x}: %{text}")
    fig.update_layout(xaxis_title=t("months_since", lang), yaxis_title=t("cohort_month", lang),
                      yaxis_autorange="reversed", height=max(360, 22 * len(grid)),
                      margin={"t": 30})
    return fig


def from_origin(curve: pd.DataFrame) -> pd.DataFrame:
    """A Lorenz curve starting at (0 %, 0 %): no client holds no AUM."""
    origin = pd.DataFrame({"top_percent": [0], "client_share": [0.0], "aum_share": [0.0]})
    return pd.concat([origin, curve[["top_percent", "client_share", "aum_share"]]],
                     ignore_index=True)


def _with_alpha(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def lifecycle_figure(life: pd.DataFrame, lang: str) -> go.Figure:
    """New, retained and resurrected clients above the axis, churned below, per month. The
    first month of the data is left out: every client is new there, which says nothing."""
    life = life.iloc[1:]
    fig = go.Figure()
    palette = {"retained": "#9aa9b8", "new": "#27ae60", "resurrected": "#2e86c1",
               "churned": "#c0392b"}
    for part in ("retained", "new", "resurrected", "churned"):
        values = -life[part] if part == "churned" else life[part]
        fig.add_bar(x=life["month"], y=values, name=t(f"life_{part}", lang),
                    marker_color=palette[part])
    fig.update_layout(barmode="relative", height=380, margin={"t": 30},
                      xaxis_title=t("month", lang), xaxis_type="category",
                      yaxis_title=t("clients", lang))
    return fig


def dormancy_figure(months: pd.DataFrame, lang: str) -> go.Figure:
    """Dormant clients per month (bars) and the reactivation rate (line, right axis)."""
    fig = go.Figure()
    fig.add_bar(x=months["month"], y=months["dormant"], name=t("dormant_clients_axis", lang),
                marker_color="#9aa9b8", hovertemplate="%{x}: %{y:,}<extra></extra>")
    fig.add_scatter(x=months["month"], y=months["reactivation_rate"], yaxis="y2",
                    mode="lines+markers", name=t("kpi_reactivation_rate", lang),
                    line={"color": "#27ae60"}, hovertemplate="%{x}: %{y:.1%}<extra></extra>")
    fig.update_layout(
        height=360, margin={"t": 30}, xaxis={"title": t("month", lang), "type": "category"},
        yaxis={"title": t("dormant_clients_axis", lang), "tickformat": ",.0f"},
        yaxis2={"title": t("kpi_reactivation_rate", lang), "overlaying": "y", "side": "right",
                "tickformat": ".1%", "rangemode": "tozero", "showgrid": False},
        legend={"orientation": "h", "y": 1.1})
    return fig


def dormant_heatmap(rows: pd.DataFrame, lang: str) -> go.Figure:
    """Dormant share per branch (rows) and month (columns); a click on a cell drills to that
    branch's dormant clients of that month."""
    grid = rows.pivot(index="branch_id", columns="month", values="dormant_share")
    counts = rows.pivot(index="branch_id", columns="month", values="dormant").reindex_like(grid)
    names = rows.drop_duplicates("branch_id").set_index("branch_id")["branch_name"]
    ys = [plain_text(f"{b} {names.get(b) or ''}".strip()) for b in grid.index]
    xs = list(grid.columns)
    fig = go.Figure(go.Heatmap(
        z=grid.values, x=xs, y=ys, colorscale="Oranges", hoverinfo="skip",
        colorbar={"title": t("col_dormant_share", lang), "tickformat": ".0%"}))
    click_targets(
        fig, xs, ys, [[[m, b] for m in xs] for b in grid.index],
        [[None if z != z else f"{z:.1%} ({int(n):,})" for z, n in zip(zline, nline)]
         for zline, nline in zip(grid.values, counts.values)],
        "%{y}, %{x}: %{text}")
    fig.update_layout(height=max(320, 22 * len(ys) + 80), margin={"t": 30},
                      xaxis={"title": t("month", lang), "type": "category"},
                      yaxis={"autorange": "reversed", "type": "category"})
    return fig
