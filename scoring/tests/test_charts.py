"""The figure builders produce figures plotly accepts (validated against plotly's own schema)."""

import datetime as dt

import plotly.graph_objects as go

from assessments.choices import AssessmentStatus
from assessments.tests.factories import make_assessment
from scoring import charts
from scoring.services import scorecard_for


def validate(figure: dict) -> None:
    go.Figure(figure)  # raises ValueError on any property plotly does not know


def test_every_figure_is_valid_plotly(org):
    make_assessment(org.project, levels=3, status=AssessmentStatus.APPROVED)
    card = scorecard_for([org.team, org.other_team])
    heatmap = charts.heatmap_figure(card)
    validate(heatmap)
    assert heatmap["data"][0]["y"] == ["Fraud detection", "Recommendations"]
    assert heatmap["data"][0]["z"][0][0] == 75.0 and heatmap["data"][0]["z"][1][0] is None
    assert heatmap["data"][0]["customdata"][0][0][0] == "score 75<br>coverage 100%"
    assert heatmap["data"][0]["customdata"][1][0][0] == "not scored: no approved assessment"
    assert heatmap["layout"]["meta"]["row_urls"] == ["/teams/fraud/", "/teams/recs/"]
    validate(charts.trend_figure([(dt.date(2026, 11, 1), 40.0, 50.0), (dt.date(2026, 11, 2), None, 50.0)]))
    validate(charts.trend_figure([], window=(dt.date(2026, 9, 3), dt.date(2026, 12, 1))))  # the "no history" note
    team = card.teams[0]
    polar = charts.polar_figure(team, card.practices)
    validate(polar)
    assert polar["data"][1]["r"][0] == polar["data"][1]["r"][-1]  # the outline closes
    validate(charts.levels_figure([("MLS-01", 3, 4), ("MLS-02", None, 2)]))


def test_a_large_heatmap_drops_the_cell_labels():
    class P:
        def __init__(self, code):
            self.practice = type("Practice", (), {"code": code, "title": code})()
            self.score, self.coverage, self.capped, self.stale, self.accepted = 50.0, 100.0, 0, False, False

    class T:
        def __init__(self, i):
            self.team = type("Team", (), {"slug": f"t{i}", "name": f"Team {i}"})()
            self.practices = [P("MLS-01")]

    card = type("Card", (), {"teams": [T(i) for i in range(60)], "practices": [P("MLS-01")]})()
    figure = charts.heatmap_figure(card)
    validate(figure)
    assert "texttemplate" not in figure["data"][0] and figure["layout"]["height"] == 26 * 60 + 120


def test_a_blank_cell_says_why_it_is_blank(org):
    make_assessment(org.project, levels={"MLS-01": 2}, na=["MLS-02"], status=AssessmentStatus.APPROVED)
    heatmap = charts.heatmap_figure(scorecard_for([org.team]))
    trace = heatmap["data"][0]
    assert trace["z"][0][1] is None and trace["hoverongaps"] is True
    assert trace["customdata"][0][1][0] == "not scored: not applicable on every assessed project<br>coverage 100%"
