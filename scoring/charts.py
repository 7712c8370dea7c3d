"""Plotly figures for the dashboard, the team and the project pages.

Pure functions: scores in, a plotly figure dict out. They build plain dicts (plotly's graph-object
validation costs a quarter of a second on a 200-team heatmap); the tests validate every figure
against plotly's schema instead. The page passes the dict through `json_script` and
`static/js/charts.js` draws it with the plotly.js served from our own static files, so the
Content-Security-Policy forbids every inline script.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import orjson
from django.utils.html import _json_script_escapes

# Red → amber → green over 0..100; cells without a score are gaps.
SCORE_COLOURS = [[0.0, "#b3261e"], [0.35, "#e0782f"], [0.55, "#f2c14e"], [0.75, "#8cc56b"], [1.0, "#1c7c4d"]]
FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12, "color": "#1b2330"}


def encode(figure: dict) -> str:
    """orjson, escaped exactly as Django's `json_script` escapes (<, > and & become \\u escapes), for a
    <script type="application/json"> (`figure_json`)."""
    return orjson.dumps(figure).decode().translate(_json_script_escapes)


CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}


def _text(value: str) -> str:
    """A name typed by a person, drawn as text: plotly reads `<`, `>` and `&` in labels and hover text as
    its own markup (links, styles), and shows `&lt;`, `&gt;` and `&amp;` as the characters."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _layout(**extra) -> dict:
    base = {"font": FONT, "paper_bgcolor": "#ffffff", "plot_bgcolor": "#ffffff",
            "margin": {"l": 60, "r": 20, "t": 10, "b": 40}}
    base.update(extra)
    return base


def _flags(p) -> str:
    parts = []
    if p.capped:
        parts.append(f"{p.capped} capped by a failing check")
    if p.stale:
        parts.append("stale evidence")
    if p.accepted:
        parts.append("risk accepted")
    return ("<br>" + " · ".join(parts)) if parts else ""


def _cell_headline(p) -> str:
    """The first hover line of a heatmap cell, which says why a blank cell is blank."""
    if not p.coverage:
        return "not scored: no approved assessment"
    if p.score is None:
        return f"not scored: not applicable on every assessed project<br>coverage {p.coverage:.0f}%"
    return f"score {p.score:.0f}<br>coverage {p.coverage:.0f}%"


def heatmap_figure(scorecard, team_url: str = "/teams/{slug}/") -> dict:
    """Teams (rows) × practices (columns): score colour, hover with score and coverage, click → team.

    `layout.meta.row_urls[i]` is row i's team page; charts.js navigates there on click.
    """
    teams = scorecard.teams
    z, custom = [], []
    for team in teams:
        z.append([_round(p.score) for p in team.practices])
        custom.append([[_cell_headline(p), _flags(p)] for p in team.practices])
    trace = {
        "type": "heatmap", "z": z, "x": [p.practice.code for p in scorecard.practices],
        "y": [_text(t.team.name) for t in teams], "customdata": custom,
        "zmin": 0, "zmax": 100, "colorscale": SCORE_COLOURS, "xgap": 2, "ygap": 2, "hoverongaps": True,
        "colorbar": {"title": {"text": "score"}, "thickness": 12, "len": 0.8},
        "hovertemplate": "<b>%{y}</b><br>%{x}: %{customdata[0]}%{customdata[1]}<extra></extra>",
    }
    if len(teams) <= 40:  # numbers in the cells while they stay readable
        trace["texttemplate"] = "%{z:.0f}"
        trace["textfont"] = {"size": 10}
    layout = _layout(
        height=max(320, 26 * len(teams) + 120), margin={"l": 180, "r": 20, "t": 10, "b": 60},
        xaxis={"side": "bottom", "tickangle": -45, "tickfont": {"size": 11}},
        # Categories, always: a team named "2024" must not turn the axis numeric and lose the other names.
        yaxis={"type": "category", "autorange": "reversed", "tickfont": {"size": 11}, "automargin": True},
        meta={"row_urls": [team_url.format(slug=t.team.slug) for t in teams]},
    )
    return {"data": [trace], "layout": layout}


def trend_figure(points: Sequence[tuple[dt.date, float | None, float | None]], *, label: str = "score",
                 window: tuple[dt.date, dt.date] | None = None) -> dict:
    """Score and coverage per day (the snapshots, today live), on one 0..100 axis.

    `window` pins the date axis (plotly would otherwise show January 2000 for an empty series);
    without any score a note says so on the chart.
    """
    days = [d.isoformat() for d, _, _ in points]
    if window is None and points:
        window = (points[0][0], points[-1][0])
    xaxis = {"type": "date", "gridcolor": "#f3f5f8"}
    if window is not None:
        xaxis["range"] = [window[0].isoformat(), window[1].isoformat()]
    layout = _layout(
        height=300, yaxis={"range": [0, 100], "title": {"text": "0–100"}, "gridcolor": "#eceff3"},
        xaxis=xaxis, legend={"orientation": "h", "y": 1.12, "x": 0}, hovermode="x unified",
    )
    if all(s is None and c is None for _, s, c in points):
        layout["annotations"] = [{"text": "No score history yet: nothing approved in this period",
                                  "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5, "showarrow": False,
                                  "font": {"color": "#5b6675", "size": 13}}]
    return {
        "data": [
            {"type": "scatter", "x": days, "y": [_round(s) for _, s, _ in points], "name": label, "mode": "lines+markers",
             "marker": {"size": 4}, "line": {"color": "#1f4e8c", "width": 3}, "connectgaps": False,
             "hovertemplate": "%{y:.1f}<extra>" + label + "</extra>"},
            {"type": "scatter", "x": days, "y": [_round(c) for _, _, c in points], "name": "coverage", "mode": "lines",
             "line": {"color": "#8aa4c8", "width": 2, "dash": "dot"},
             "hovertemplate": "%{y:.0f}%<extra>coverage</extra>"},
        ],
        "layout": layout,
    }


def _closed(values: list) -> list:
    return values + values[:1]


def polar_figure(team_score, organisation_practices=None) -> dict:
    """The team's practice scores around a circle, with the organisation's for comparison."""
    codes = [p.practice.code for p in team_score.practices]
    data = []
    if organisation_practices is not None:
        data.append({
            "type": "scatterpolar", "r": _closed([_round(p.score) for p in organisation_practices]),
            "theta": _closed(codes), "name": "organisation", "mode": "lines",
            "line": {"color": "#8aa4c8", "dash": "dot"}, "hovertemplate": "%{theta}: %{r:.0f}<extra>organisation</extra>",
        })
    data.append({
        "type": "scatterpolar", "r": _closed([_round(p.score) for p in team_score.practices]), "theta": _closed(codes),
        "name": _text(team_score.team.name), "fill": "toself", "mode": "lines+markers", "line": {"color": "#1f4e8c"},
        "fillcolor": "rgba(31, 78, 140, 0.18)", "customdata": _closed([_text(p.practice.title) for p in team_score.practices]),
        "hovertemplate": "%{theta} %{customdata}: %{r:.0f}<extra></extra>",
    })
    layout = _layout(
        height=460, margin={"l": 40, "r": 40, "t": 30, "b": 30}, legend={"orientation": "h", "y": -0.05},
        polar={"radialaxis": {"range": [0, 100], "tickfont": {"size": 9}, "gridcolor": "#dde2ea"},
               "angularaxis": {"tickfont": {"size": 10}, "direction": "clockwise", "gridcolor": "#eceff3"}},
    )
    return {"data": data, "layout": layout}


def levels_figure(rows: Sequence[tuple[str, int | None, int | None]]) -> dict:
    """A project's answered level and target level per practice (bars and markers, 0..4)."""
    codes = [code for code, _, _ in rows]
    return {
        "data": [
            {"type": "bar", "x": codes, "y": [level for _, level, _ in rows], "name": "level (after any cap)",
             "marker": {"color": "#1f4e8c"}, "hovertemplate": "%{x}: level %{y}<extra></extra>"},
            {"type": "scatter", "x": codes, "y": [target for _, _, target in rows], "name": "target", "mode": "markers",
             "marker": {"symbol": "line-ew-open", "size": 18, "color": "#e0782f", "line": {"width": 3}},
             "hovertemplate": "%{x}: target %{y}<extra></extra>"},
        ],
        "layout": _layout(height=280, yaxis={"range": [0, 4.3], "dtick": 1, "title": {"text": "level"}},
                          xaxis={"tickangle": -45}, legend={"orientation": "h", "y": 1.15, "x": 0}, bargap=0.35),
    }


def chart_config() -> dict:
    return CONFIG
