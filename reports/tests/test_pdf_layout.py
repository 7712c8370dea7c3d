"""The PDF lays out whatever the data: long tables split across pages, long cells wrap, long finding
lists are summarised with a count (the JSON keeps them all), check results read as check results."""

from __future__ import annotations

import io
import json
import re

from reports.renderers import pdf as pdf_module
from reports.renderers.json import write_json
from reports.tests.sample_dataset import make_dataset, materialise
from reports.tests.test_renderers import pdf_text, render_to

SEVERITIES = ("critical", "high", "medium", "low", "info")
FINDINGS_SHOWN = getattr(pdf_module, "FINDINGS_SHOWN", 25)


def one_project(**changes) -> dict:
    dataset = materialise(make_dataset(1))
    dataset["projects"][0].update(changes)
    return dataset


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_a_check_run_with_1000_findings_renders_its_most_severe_and_counts_the_rest(tmp_path):
    findings = [{"severity": SEVERITIES[i % 5], "title": f"finding-{i:04d} in src/module_{i}.py line {i}",
                 "detail": "", "ref": f"REF-{i:04d}"} for i in range(1000)]
    dataset = one_project()
    run = dataset["projects"][0]["check_runs"][0]
    run.update(status="failed", summary="1000 findings", findings=findings)
    text = pdf_text(render_to(tmp_path, dataset))
    assert f"({FINDINGS_SHOWN} most severe of 1,000)" in text
    assert f"and {1000 - FINDINGS_SHOWN:,} more (200 critical, 200 high, 200 medium, 200 low, 200 info in all)" in text
    shown = {int(n) for n in re.findall(r"finding-(\d{4})", text)}
    assert len(shown) == FINDINGS_SHOWN and all(n % 5 == 0 for n in shown)  # the critical ones come first
    out = io.BytesIO()
    write_json(dataset, out)  # the complete list stays in the JSON export
    assert len(json.loads(out.getvalue())["projects"][0]["check_runs"][0]["findings"]) == 1000


def test_25_practices_with_2000_character_notes_render_every_note_in_full(tmp_path):
    dataset = one_project()
    project = dataset["projects"][0]
    for answer in project["answers"]:
        answer.update(not_applicable=False, level=2, score=50.0, effective_level=2,
                      notes=" ".join(f"{answer['code']}-word{n}" for n in range(180))[:1990] + f" END-{answer['code']}")
        assert len(answer["notes"]) >= 2000
    text = flat(pdf_text(render_to(tmp_path, dataset)))
    assert "Notesinfull" in text
    for answer in project["answers"]:
        assert flat(f"END-{answer['code']}") in text  # the end of every note: nothing cut off
        assert flat(f"{answer['code']}-word100") in text


def test_the_pdf_renders_with_every_text_field_at_its_largest(tmp_path):
    """What a database writer (or a 200-team organisation) can put in: the layout never fails."""
    wall = "W" * 9000  # no space to break at
    lines = "\n".join(f"line {n}" for n in range(600))
    dataset = materialise(make_dataset(3, scope="org"))
    dataset["teams"] = [{**dataset["teams"][0], "slug": f"team-{n}", "name": f"Team {n} " + "x" * 100,
                         "score": float(n % 100)} for n in range(220)]
    for project in dataset["projects"]:
        project["name"] = "N" * 200
        if project["assessment"]:
            project["assessment"]["review_comment"] = lines
        for answer in project["answers"]:
            answer.update(notes=wall, justification=lines, owner="O" * 300, title="T" * 300)
        for item in project["evidence"]:
            item.update(title="E" * 300, url="https://x.example/" + "u" * 2048)
        for run in project["check_runs"]:
            run.update(summary=wall + lines, findings=[{"severity": "high", "title": wall, "ref": wall}] * 60)
        for acceptance in project["risk_acceptances"]:
            acceptance["justification"] = lines + wall
    text = pdf_text(render_to(tmp_path, dataset))
    assert "Team scores: the 40 lowest of 220 teams" in text
    assert "Page 1 of" in text


def test_check_results_are_listed_as_check_results_not_as_accepted_evidence(tmp_path):
    dataset = one_project()
    project = dataset["projects"][0]
    results = [e for e in project["evidence"] if e["kind"] == "check"]
    assert results and all(e["status"] == "accepted" for e in results)  # how the checks file them
    text = pdf_text(render_to(tmp_path, dataset))
    evidence_part = text.split("Automated check results")[0]
    assert "check · accepted" not in text and "check ·accepted" not in flat(text)
    for item in results:
        assert item["title"] not in evidence_part  # not among the evidence someone accepted
    check_part = text.split("Automated check results", 1)[1].split("Latest check runs")[0]
    for item in results:
        assert f"run #{item['check_run']}" in check_part
    assert "failed" in check_part or "passed" in check_part


def test_a_project_awaiting_review_is_described_as_submitted(tmp_path):
    dataset = materialise(make_dataset(6))
    project = dataset["projects"][5]
    assert project["assessment"] is None and project["awaiting_review"]
    dataset["projects"] = [project]
    text = " ".join(pdf_text(render_to(tmp_path, dataset)).split())
    assert "Cycle 2026-Q4 was submitted by lead" in text and "awaits review" in text
    assert "every practice of this project is not assessed" not in text
