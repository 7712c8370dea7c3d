"""PDF report for auditors, drawn offline with reportlab (platypus and reportlab.graphics charts).

Contents: a title page (scope, as_of, who generated it when, catalogue version, the fingerprint of
the key that signs bundles), a summary scorecard with a bar chart of practice scores and one of team
scores, then per project: facts, assessment status and review sign-off (or the cycle awaiting
review), the answers (long notes in full below the table), the evidence with full SHA-256 hashes,
the automated check results (a check's verdict, never "accepted" evidence), the latest check runs
with their most severe findings, and the risk acceptances.

Layout never fails on content: every table is a LongTable that splits between rows (header
repeated) and, for a row taller than the page, inside the row; cells are Paragraphs that wrap (long
words too); a run's findings beyond FINDINGS_SHOWN are counted by severity, the full list being in
the JSON export; the team chart, a drawing that cannot split, shows at most CHART_TEAMS teams.

All user text goes through `_x`, which escapes Paragraph markup (`<`, `&` in a project name must
neither break rendering nor inject tags) and, when no Unicode font is available, replaces what
Helvetica cannot draw. DejaVu is used when installed (Debian's fonts-dejavu-core, or matplotlib's
copy); otherwise the built-in Helvetica with a Latin-1 fallback: rendering never crashes on text.

The projects are laid out as they are read (render_pdf, "in parts"); a team of 20 projects × 25
practices renders in about a second. Plain strings are used in table cells that need no wrapping, because
Paragraphs are what costs time.
"""

from __future__ import annotations

import importlib.util
import os
from functools import lru_cache
from typing import Any, BinaryIO
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    LongTable,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from .common import STATUSES, answer_status, strip_control

PAGE_W, PAGE_H = A4
MARGIN = 15 * mm
WIDTH = PAGE_W - 2 * MARGIN
GREY, LINE = colors.HexColor("#f1f3f5"), colors.HexColor("#ced4da")
STATUS_COLOURS = dict(zip(STATUSES, ["#e9ecef", "#cfe2ff", "#e9ecef", "#f8d7da", "#fff3cd", "#ffe5b4", "#d1e7dd",
                                     "#ffffff"], strict=True))
# What one table cell may hold, so that no row is ever taller than a page (ReportLab cannot split a
# row): longer text is cut with "…" and kept whole in the JSON export, or set below the table.
TEXT_LIMIT = 4000  # review comments and justifications (the forms' maximum)
NOTE_IN_TABLE = 300  # an answer's note in the answers table; longer ones follow it in full
NOTE_LIMIT = 20000
FINDINGS_SHOWN = 25  # per check run; the rest are counted, and listed in the JSON export
SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")
CHART_TEAMS = 40  # a chart is drawn on one page


def _font_dirs() -> list[str]:
    dirs = ["/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/share/fonts/TTF"]
    spec = importlib.util.find_spec("matplotlib")  # found without importing matplotlib
    if spec and spec.origin:
        dirs.append(os.path.join(os.path.dirname(spec.origin), "mpl-data", "fonts", "ttf"))
    return dirs


@lru_cache(maxsize=1)
def fonts() -> tuple[str, str, str, bool]:
    """(regular, bold, monospace, unicode?): DejaVu when found, else Helvetica/Courier (Latin-1 only)."""
    for folder in _font_dirs():
        paths = [os.path.join(folder, f) for f in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansMono.ttf")]
        if all(os.path.isfile(p) for p in paths):
            try:
                for name, path in zip(("MLSecSans", "MLSecSans-Bold", "MLSecMono"), paths, strict=True):
                    pdfmetrics.registerFont(TTFont(name, path))
                pdfmetrics.registerFontFamily("MLSecSans", normal="MLSecSans", bold="MLSecSans-Bold",
                                              italic="MLSecSans", boldItalic="MLSecSans-Bold")
                return "MLSecSans", "MLSecSans-Bold", "MLSecMono", True
            except Exception:  # noqa: S112 - a broken font file: try the next folder, then fall back
                continue
    return "Helvetica", "Helvetica-Bold", "Courier", False


def _plain(value: Any, limit: int | None = None) -> str:
    """Text for canvas strings and plain table cells: no markup, only characters the font can draw."""
    text = strip_control(value).replace("\n", " ")
    if limit and len(text) > limit:
        text = text[: limit - 1] + "…"
    return _drawable(text)


_ASCII = str.maketrans({"–": "-", "—": "-", "…": "...", "→": "->", "‘": "'", "’": "'", "“": '"', "”": '"'})


def _drawable(text: str) -> str:
    """Without a Unicode font, only Latin-1 can be drawn: map typography to ASCII, the rest to '?'."""
    if fonts()[3]:
        return text
    return text.translate(_ASCII).encode("latin-1", "replace").decode("latin-1")


def _x(value: Any, limit: int | None = None) -> str:
    """User text made safe for a Paragraph: markup escaped, newlines kept as line breaks."""
    text = strip_control(value)
    if limit and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return "<br/>".join(escape(_plain(line)) for line in text.split("\n"))


def _when(value: Any) -> str:
    """A compact timestamp for tables: '2026-10-01 03:15 UTC' from an ISO date-time (else as given)."""
    text = strip_control(value)
    if len(text) >= 16 and text[10] == "T":
        zone = text[19:].lstrip("0123456789.")
        return f"{text[:10]} {text[11:16]}" + (" UTC" if zone in ("+00:00", "Z") else f" {zone}" if zone else "")
    return text or "–"


def _num(value: Any, suffix: str = "") -> str:
    if value is None or value == "":
        return "–" if fonts()[3] else "-"
    if isinstance(value, float):
        return f"{value:.1f}{suffix}"
    return f"{value}{suffix}"


class _Styles:
    def __init__(self):
        regular, bold, mono, _ = fonts()
        self.mono = mono
        self.body = ParagraphStyle("body", fontName=regular, fontSize=8.5, leading=11)
        self.small = ParagraphStyle("small", parent=self.body, fontSize=7, leading=8.6)
        self.title = ParagraphStyle("title", fontName=bold, fontSize=20, leading=25, spaceAfter=12)
        self.h2 = ParagraphStyle("h2", fontName=bold, fontSize=13, leading=16, spaceBefore=4, spaceAfter=6)
        self.h3 = ParagraphStyle("h3", fontName=bold, fontSize=10, leading=13, spaceBefore=8, spaceAfter=4)
        self.big = ParagraphStyle("big", fontName=bold, fontSize=16, leading=19, alignment=1)
        self.label = ParagraphStyle("label", parent=self.small, alignment=1, textColor=colors.HexColor("#495057"))

    def table(self, rows: list, widths: list[float], header: bool = True, extra: list | None = None) -> Table:
        """A table that splits across pages between rows (the header repeated) and, should one row still
        be taller than the space left, inside that row: no content can make the layout fail."""
        regular, bold, _, _ = fonts()
        table = LongTable(rows, colWidths=widths, repeatRows=1 if header else 0, splitInRow=1)
        style = [("FONT", (0, 0), (-1, -1), regular, 7), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                 ("GRID", (0, 0), (-1, -1), 0.3, LINE), ("LEFTPADDING", (0, 0), (-1, -1), 3),
                 ("RIGHTPADDING", (0, 0), (-1, -1), 3), ("TOPPADDING", (0, 0), (-1, -1), 2),
                 ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]
        if header:
            style += [("FONT", (0, 0), (-1, 0), bold, 7), ("BACKGROUND", (0, 0), (-1, 0), GREY)]
        table.setStyle(TableStyle(style + (extra or [])))
        return table


def _bar_chart(labels: list[str], values: list[float | None], title: str, label_width: float = 45) -> Drawing:
    """A horizontal bar chart of 0-100 scores, first label at the top; a missing score draws no bar."""
    regular, bold, _, _ = fonts()
    height = max(60.0, 13.0 * len(labels)) + 40
    drawing = Drawing(WIDTH, height)
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = label_width + 5, 20, WIDTH - label_width - 40, height - 40
    chart.data = [tuple(values[::-1])]
    chart.categoryAxis.categoryNames = [_plain(label, 40) for label in labels[::-1]]
    chart.categoryAxis.labels.fontName, chart.categoryAxis.labels.fontSize = regular, 7
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, 100, 20
    chart.valueAxis.labels.fontName, chart.valueAxis.labels.fontSize = regular, 7
    chart.bars[0].fillColor, chart.bars[0].strokeColor = colors.HexColor("#4c6ef5"), None
    chart.barLabelFormat, chart.barLabels.nudge = "%.1f", 10
    chart.barLabels.fontName, chart.barLabels.fontSize = regular, 6
    drawing.add(chart)
    drawing.add(String(0, height - 10, _plain(title), fontName=bold, fontSize=9))
    return drawing


def _summary(ds: dict, st: _Styles) -> list:
    summary = ds.get("summary") or {}
    cells = [("Overall score", _num(summary.get("score"))), ("Coverage", _num(summary.get("coverage"), " %")),
             ("Verified", _num(summary.get("verified"), " %")), ("Projects", _num(summary.get("projects"))),
             ("Covered projects", _num(summary.get("covered_projects")))]
    kpis = Table([[Paragraph(v, st.big) for _k, v in cells], [Paragraph(k, st.label) for k, _v in cells]],
                 colWidths=[WIDTH / len(cells)] * len(cells))
    kpis.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.5, LINE), ("BACKGROUND", (0, 0), (-1, -1), GREY)]))
    practices = ds.get("practices") or []
    story = [Paragraph("Summary scorecard", st.h2), kpis, Spacer(1, 8),
             _bar_chart([p.get("code", "") for p in practices], [p.get("score") for p in practices],
                        "Practice scores (0–100, tier-weighted mean over the scope's projects)")]
    rows = [["Code", "Practice", "Category", "Weight", "Score", "Coverage", "Verified", "Flags"]]
    extra = []
    for i, p in enumerate(practices, start=1):
        flags = [f for f in ("stale", "accepted") if p.get(f)] + ([f"capped x{p['capped']}"] if p.get("capped") else [])
        rows.append([_plain(p.get("code")), Paragraph(_x(p.get("title")), st.small), _plain(p.get("category"), 30),
                     _num(p.get("weight")), _num(p.get("score")), _num(p.get("coverage"), " %"),
                     _num(p.get("verified"), " %"), _plain(", ".join(flags))])
        score = p.get("score")
        if score is not None:
            colour = "#f8d7da" if score < 40 else "#fff3cd" if score < 70 else "#d1e7dd"
            extra.append(("BACKGROUND", (4, i), (4, i), colors.HexColor(colour)))
    story += [CondPageBreak(120), Paragraph("Practices", st.h3),
              st.table(rows, [36, 140, 118, 34, 34, 42, 40, 66], extra=extra)]
    teams = ds.get("teams") or []
    if teams:
        story += [CondPageBreak(160), Paragraph("Teams", st.h3)]
        if len(teams) > 1:
            # A drawing cannot split across pages: chart at most CHART_TEAMS teams, the weakest first.
            charted = teams if len(teams) <= CHART_TEAMS else sorted(
                teams, key=lambda t: (t.get("score") is None, t.get("score") or 0))[:CHART_TEAMS]
            title = "Team scores" if charted is teams else f"Team scores: the {CHART_TEAMS} lowest of {len(teams)} teams"
            story.append(_bar_chart([t.get("name") or t.get("slug") for t in charted],
                                    [t.get("score") for t in charted], title, label_width=110))
        rows = [["Team", "Projects", "Covered", "Score", "Coverage", "Verified"]]
        rows += [[Paragraph(_x(t.get("name") or t.get("slug")), st.small), _num(t.get("projects")),
                  _num(t.get("covered_projects")), _num(t.get("score")), _num(t.get("coverage"), " %"),
                  _num(t.get("verified"), " %")] for t in teams]
        story.append(st.table(rows, [200, 62, 62, 62, 62, 62]))
    return story


def _facts(rows: list[tuple[str, Any]], st: _Styles) -> Table:
    cells = [[Paragraph(f"<b>{escape(k)}</b>", st.small),
              Paragraph(_x(v if v not in (None, "") else "–", TEXT_LIMIT), st.small)] for k, v in rows]
    return st.table(cells, [110, WIDTH - 110], header=False)


def _severity_counts(findings: list[dict]) -> str:
    counts: dict[str, int] = {}
    for f in findings:
        counts[str(f.get("severity") or "unrated")] = counts.get(str(f.get("severity") or "unrated"), 0) + 1
    order = {s: i for i, s in enumerate(SEVERITY_ORDER)}
    return ", ".join(f"{n:,} {sev}" for sev, n in sorted(counts.items(), key=lambda kv: order.get(kv[0], 99)))


def _findings(run: dict, st: _Styles) -> list:
    """The most severe findings of one run as rows of their own; the rest summarised with a count."""
    findings = [f for f in run.get("findings") or () if isinstance(f, dict)]
    if not findings:
        return []
    order = {s: i for i, s in enumerate(SEVERITY_ORDER)}
    shown = sorted(findings, key=lambda f: order.get(str(f.get("severity")), 99))[:FINDINGS_SHOWN]
    title = _plain(run.get("title") or run.get("check"), 80)
    heading = f"Findings of {title}" + (f" ({len(shown)} most severe of {len(findings):,})"
                                         if len(findings) > len(shown) else "")
    rows = [["Severity", "Finding", "Reference"]]
    rows += [[_plain(f.get("severity"), 12), Paragraph(_x(f.get("title"), 400), st.small),
              Paragraph(_x(f.get("ref"), 120), st.small)] for f in shown]
    if len(findings) > len(shown):
        rows.append(["", Paragraph(_drawable(
            f"… and {len(findings) - len(shown):,} more ({_severity_counts(findings)} in all). The complete list "
            "is in the JSON export (report.json in the ZIP bundle)."), st.small), ""])
    return [CondPageBreak(60), Paragraph(heading, st.small), st.table(rows, [50, WIDTH - 170, 120])]


def _answers(p: dict, ds: dict, st: _Styles) -> list:
    answers = p.get("answers") or []
    rows = [["Code", "Practice", "Level", "Target", "Score", "Status", "Owner", "Notes"]]
    extra, in_full = [], []
    for i, ans in enumerate(answers, start=1):
        status = answer_status(ans)
        level = "N/A" if ans.get("not_applicable") else _num(ans.get("level"))
        if ans.get("capped"):
            level = _plain(f"{level}→{ans.get('effective_level')}")
        note = strip_control(ans.get("notes")).strip()
        if ans.get("not_applicable"):
            note = f"N/A: {strip_control(ans.get('justification')).strip()}"
        cell = ""
        if note:
            if len(note) > NOTE_IN_TABLE:
                in_full.append((ans.get("code"), note))
                cell = Paragraph(_x(note, NOTE_IN_TABLE) + " <i>(in full below)</i>", st.small)
            else:
                cell = Paragraph(_x(note), st.small)
        rows.append([_plain(ans.get("code")), Paragraph(_x(ans.get("title"), 200), st.small), level,
                     _num(ans.get("target_level")), _num(ans.get("score")), status, _plain(ans.get("owner"), 16), cell])
        extra.append(("BACKGROUND", (5, i), (5, i), colors.HexColor(STATUS_COLOURS[status])))
    story = [CondPageBreak(90), Paragraph("Answers", st.h3),
             st.table(rows, [36, 122, 34, 30, 30, 62, 62, 134], extra=extra)]
    if in_full:
        # Long notes are paragraphs of their own, which split across pages (a table row cannot).
        story += [CondPageBreak(60), Paragraph("Notes in full", st.h3)]
        for code, note in in_full:
            story.append(Paragraph(f"<b>{_x(code)}</b>  {_x(note, NOTE_LIMIT)}", st.small))
            story.append(Spacer(1, 3))
    return story


def _evidence_rows(evidence: list[dict], st: _Styles) -> list:
    rows = [["Practice", "Evidence", "SHA-256"]]
    for e in evidence:
        where = e.get("file") or e.get("url") or ""
        meta = " · ".join(x for x in [e.get("kind"), e.get("status"), f"v{e.get('version') or 1}",
                                      f"valid until {e['valid_until']}" if e.get("valid_until") else "",
                                      f"by {e['uploaded_by']}" if e.get("uploaded_by") else ""] if x)
        text = f"<b>{_x(e.get('title'), 200)}</b> (#{_x(e.get('id'))})<br/>{_x(meta, 300)}"
        if where:
            text += f"<br/>{_x(where, 160)}"
        rows.append([_plain(e.get("practice")), Paragraph(text, st.small), _plain(e.get("sha256"), 64) or "–"])
    return [CondPageBreak(90), Paragraph("Evidence", st.h3),
            st.table(rows, [40, WIDTH - 292, 252], extra=[("FONT", (2, 1), (2, -1), st.mono, 6.4)])]


def _check_results(results: list[dict], p: dict, st: _Styles) -> list:
    """Results the checks filed for practices: a check's verdict, never evidence someone 'accepted'."""
    status_of = {r.get("id"): r.get("status") for r in p.get("check_runs") or ()}
    rows = [["Practice", "Check result", "Verdict", "Recorded"]]
    for e in results:
        verdict = e.get("check_status") or status_of.get(e.get("check_run")) or "–"
        title = str(e.get("title") or "").rsplit(": ", 1)[0]  # "<check title>: <status>" as the checks file it
        run = e.get("check_run") or "–"
        text = f"<b>{_x(title, 200)}</b><br/>{_x(f'filed by automated check run #{run}')}"
        rows.append([_plain(e.get("practice")), Paragraph(text, st.small), _plain(verdict, 12),
                     _plain(_when(e.get("created_at")))])
    return [CondPageBreak(90), Paragraph("Automated check results", st.h3),
            st.table(rows, [40, WIDTH - 210, 70, 100])]


def _check_runs(runs: list[dict], st: _Styles) -> list:
    rows = [["Check", "Status", "Finished", "Practices", "Summary"]]
    for r in runs:
        findings = [f for f in r.get("findings") or () if isinstance(f, dict)]
        summary = _x(r.get("summary"), 600)
        if findings:
            summary += f"<br/><b>{len(findings):,} finding(s)</b>: {_x(_severity_counts(findings))}"
        rows.append([Paragraph(_x(r.get("title") or r.get("check"), 120), st.small), _plain(r.get("status"), 12),
                     _plain(_when(r.get("finished_at") or r.get("started_at"))),
                     Paragraph(_x(", ".join(r.get("practices") or ()), 200), st.small), Paragraph(summary, st.small)])
    story = [CondPageBreak(90), Paragraph("Latest check runs", st.h3), st.table(rows, [90, 40, 84, 56, WIDTH - 270])]
    for r in runs:
        story += _findings(r, st)
    return story


def _project(p: dict, ds: dict, st: _Styles) -> list:
    name = p.get("name") or f"Project {p.get('id')}"
    heading = Paragraph(_x(name, 200), st.h2)
    heading.outline_title = _plain(name, 200)
    a = p.get("assessment") or {}
    story = [PageBreak(), heading, _facts([
        ("Team", p.get("team_name") or p.get("team")), ("Risk tier", p.get("risk_tier")),
        ("Lifecycle", p.get("lifecycle")), ("Data classification", p.get("data_classification")),
        ("Project score", _num(p.get("score")))] + ([("In the portal", p["url"])] if p.get("url") else []), st)]
    story += [CondPageBreak(90), Paragraph("Assessment and review sign-off", st.h3)]
    pending = p.get("awaiting_review") or {}
    if a:
        story.append(_facts([
            ("Cycle / status", f"{a.get('cycle') or '–'} / {a.get('status') or '–'}"),
            ("Catalogue version", a.get("catalog_version")),
            ("Submitted", f"by {a.get('submitted_by') or '–'} at {_when(a.get('submitted_at'))}"),
            ("Reviewed", f"by {a.get('reviewed_by') or '–'} at {_when(a.get('reviewed_at'))}"),
            ("Review comment", a.get("review_comment"))], st))
        if pending:
            story.append(Paragraph(_drawable(
                f"Cycle {_x(pending.get('cycle'))} was submitted by {_x(pending.get('submitted_by') or '–')} at "
                f"{_x(_when(pending.get('submitted_at')))} and awaits review: the answers below are the approved "
                "ones."), st.body))
    elif pending:
        story.append(Paragraph(_drawable(
            f"No approved assessment as of {_x(ds.get('as_of'))}. Cycle {_x(pending.get('cycle'))} was "
            f"<b>submitted</b> by {_x(pending.get('submitted_by') or '–')} at {_x(_when(pending.get('submitted_at')))} "
            "and awaits review; until it is approved no practice of this project counts."), st.body))
    else:
        story.append(Paragraph(_drawable(f"No approved assessment as of {_x(ds.get('as_of'))}: every practice of this "
                               "project is <b>not assessed</b>."), st.body))
    if a and p.get("answers"):
        story += _answers(p, ds, st)
    items = sorted(p.get("evidence") or [], key=lambda e: (str(e.get("practice")), e.get("id") or 0))
    evidence = [e for e in items if e.get("kind") != "check"]
    if evidence:
        story += _evidence_rows(evidence, st)
    results = [e for e in items if e.get("kind") == "check"]
    if results:
        story += _check_results(results, p, st)
    runs = p.get("check_runs") or []
    if runs:
        story += _check_runs(runs, st)
    open_actions = p.get("actions") or []
    if open_actions:
        rows = [["Practice", "Action", "Owner", "Due", "Status"]]
        rows += [[_plain(a.get("practice")), Paragraph(_x(a.get("title"), TEXT_LIMIT), st.small),
                  _plain(a.get("owner") or "–", 16), _plain(a.get("due_on")),
                  _plain("OVERDUE" if a.get("overdue") else a.get("status"))] for a in open_actions]
        story += [CondPageBreak(90), Paragraph("Open remediation actions", st.h3),
                  st.table(rows, [40, WIDTH - 252, 70, 60, 82])]
    accs = p.get("risk_acceptances") or []
    if accs:
        rows = [["Practice", "Status", "Expires", "Proposed by", "Decided", "Justification"]]
        rows += [[_plain(r.get("practice")), _plain(r.get("status")), _plain(r.get("expires_on")),
                  _plain(r.get("proposed_by"), 16),
                  Paragraph(_x(f"{r.get('approved_by') or '–'} {_when(r.get('decided_at')) if r.get('decided_at') else ''}"),
                            st.small),
                  Paragraph(_x(r.get("justification"), TEXT_LIMIT), st.small)] for r in accs]
        story += [CondPageBreak(90), Paragraph("Risk acceptances", st.h3),
                  st.table(rows, [40, 44, 48, 56, 90, WIDTH - 278])]
    return story


def _title_page(ds: dict, st: _Styles) -> list:
    scope = ds.get("scope") or {}
    portal = ds.get("portal") or {}
    return [Spacer(1, 40), Paragraph(_x(ds.get("title") or "ML security report"), st.title), _facts([
        ("Scope", f"{scope.get('kind') or '–'}: {scope.get('label') or '–'}"), ("As of", ds.get("as_of")),
        ("Data taken at", ds.get("moment")), ("Generated at", ds.get("generated_at")),
        ("Generated by", ds.get("generated_by")), ("Catalogue version", ds.get("catalog_version")),
        ("Portal", f"{portal.get('name') or ''} {portal.get('base_url') or ''}"),
        ("Signing key fingerprint", portal.get("public_key_fingerprint"))], st), Spacer(1, 12),
        Paragraph(_drawable("Scores are 0–100 (level / 4 × 100) from each project's latest approved assessment as it stood "
                  "at the moment above; <i>coverage</i> is the share of projects (or answers) assessed, "
                  "<i>verified</i> the share of scored answers backed by a passing check or accepted evidence. "
                  "A failing automated check caps a practice at level 1. The ZIP bundle that carries this "
                  "report lists every file's SHA-256 in a manifest signed with the key whose fingerprint is "
                  "shown above: check it with <i>verify_bundle.py</i> before relying on any file."), st.body)]


def _numbered_canvas(footer: str, regular: str):
    class NumberedCanvas(Canvas):
        """Draws 'Page N of M' on every page as it is finished. M is unknown until the end, so it is a
        form XObject that every page refers to and `save` defines once: no page is kept in memory to
        be redrawn later (issue 19: an organisation of 2,000 projects makes thousands of pages)."""

        def showPage(self):  # noqa: N802 - reportlab's name
            self.saveState()
            self.setFont(regular, 7)
            self.setFillColor(colors.HexColor("#6c757d"))
            self.drawString(MARGIN, 8 * mm, footer)
            label = f"Page {self._pageNumber} of "
            self.drawRightString(PAGE_W - MARGIN - TOTAL_WIDTH, 8 * mm, label)
            self.doForm("page-total")
            self.restoreState()
            super().showPage()

        def save(self):
            total = self._pageNumber - 1
            self.beginForm("page-total")
            self.setFont(regular, 7)
            self.setFillColor(colors.HexColor("#6c757d"))
            self.drawString(PAGE_W - MARGIN - TOTAL_WIDTH, 8 * mm, str(total))
            self.endForm()
            super().save()

    return NumberedCanvas


TOTAL_WIDTH = 6 * mm  # where the page total starts: room for five digits at 7 pt, right of "Page N of "


class _LazyStory(list):
    """The story, laid out in parts: reportlab's build loop asks `len(story)` before each flowable, and
    the list is topped up from `parts` (one project's flowables at a time) only when it runs low, so the
    flowables of projects already drawn are freed and those of later ones not yet made."""

    def __init__(self, head: list, parts):
        super().__init__(head)
        self._parts = iter(parts)

    def __len__(self) -> int:
        while self._parts is not None and super().__len__() < 2:
            part = next(self._parts, None)
            if part is None:
                self._parts = None
            else:
                self.extend(part)
        return super().__len__()


class _Doc(SimpleDocTemplate):
    def afterFlowable(self, flowable):  # noqa: N802 - reportlab's name
        title = getattr(flowable, "outline_title", None)
        if title:
            # A counter, not id(flowable): flowables are freed as the story is drawn, and ids come back.
            self._outlines = getattr(self, "_outlines", 0) + 1
            key = f"p{self._outlines}"
            self.canv.bookmarkPage(key)
            self.canv.addOutlineEntry(title, key, level=0)


def render_pdf(dataset: dict, out: BinaryIO) -> None:
    """Render the report into the binary stream `out`, in parts: the projects are read from the dataset
    as the layout reaches them and each one's flowables dropped once drawn; finished pages are written
    compressed and never revisited (see NumberedCanvas). Memory stays at a few projects' worth plus
    reportlab's compressed pages, whatever the size of the organisation."""
    st = _Styles()
    scope = dataset.get("scope") or {}
    portal = dataset.get("portal") or {}
    footer = _plain(f"{portal.get('name') or 'MLSec Portal'} · {scope.get('kind')}: {scope.get('label')} · "
                    f"as of {dataset.get('as_of')}", 110)
    doc = _Doc(out, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=16 * mm,
               title=_plain(dataset.get("title")), author=_plain(dataset.get("generated_by")),
               subject=_plain(f"{scope.get('kind')}: {scope.get('label')} as of {dataset.get('as_of')}"),
               creator="MLSec Portal", invariant=1, pageCompression=1)
    head = _title_page(dataset, st) + [PageBreak()] + _summary(dataset, st)
    parts = (_project(project, dataset, st) for project in dataset.get("projects") or ())
    doc.build(_LazyStory(head, parts), canvasmaker=_numbered_canvas(footer, fonts()[0]))
