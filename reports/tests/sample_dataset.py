"""A realistic synthetic export dataset, built without Django, for the renderer and bundle tests.

Every project is a pure function of its index (seeded by a string, so it is the same on every run
and every machine). That is what lets `make_dataset(..., as_generator=True)` hand the renderers a
one-shot generator that builds projects lazily — the streaming tests rely on it — while the summary
figures are computed in a first pass that keeps nothing, and lets `sample_evidence_files` rebuild
the evidence bytes even after the generator has been consumed.

The data is deliberately awkward: non-ASCII names, `<` and `&` in names and comments (PDF markup
escaping), cells that start with `=`, `+`, `-`, `@` (CSV injection), not-assessed projects, N/A
answers, capped practices, stale evidence, failing/erroring/skipped checks and risk acceptances.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator

AS_OF = "2026-11-29"
MOMENT = "2026-11-29T23:59:59.999999+00:00"

CATALOGUE = [
    ("MLS-01", "Encrypt data", "Data protection", 2),
    ("MLS-02", "Implement access control", "Identity and access", 3),
    ("MLS-03", "Keep ML libraries up to date", "Supply chain and development", 3),
    ("MLS-04", "Use robust authentication", "Identity and access", 3),
    ("MLS-05", "Monitor model performance", "Monitoring and detection", 2),
    ("MLS-06", "Minimise data", "Data protection", 2),
    ("MLS-07", "Secure APIs", "Identity and access", 3),
    ("MLS-08", "Conduct regular security audits", "Governance and people", 2),
    ("MLS-09", "Implement anomaly detection", "Monitoring and detection", 2),
    ("MLS-10", "Train employees on security", "Governance and people", 2),
    ("MLS-11", "Secure model training environments", "Supply chain and development", 3),
    ("MLS-12", "Validate model inputs", "Model inputs and outputs", 3),
    ("MLS-13", "Follow secure coding practices", "Supply chain and development", 3),
    ("MLS-14", "Use federated learning where data cannot be pooled", "Data protection", 1),
    ("MLS-15", "Monitor network traffic", "Monitoring and detection", 2),
    ("MLS-16", "Mask sensitive data", "Data protection", 2),
    ("MLS-17", "Establish incident response plans", "Governance and people", 2),
    ("MLS-18", "Audit model outputs", "Model inputs and outputs", 2),
    ("MLS-19", "Monitor user behaviour", "Monitoring and detection", 2),
    ("MLS-20", "Implement continuous testing", "Supply chain and development", 2),
    ("MLS-21", "Secure data storage", "Data protection", 2),
    ("MLS-22", "Encrypt model outputs", "Model inputs and outputs", 2),
    ("MLS-23", "Implement model versioning", "Supply chain and development", 3),
    ("MLS-24", "Collaborate with security experts", "Governance and people", 1),
    ("MLS-25", "Run regular ML security training", "Governance and people", 2),
]

TEAMS = [("fraud-detection", "Fraud detection"), ("equipe-donnees", "Équipe données"), ("r-and-d", "R&D <Labs>")]
NAMES = ["Card fraud scorer", "Modèle de crédit « Zoé »", "Merchant risk model", "Search & <rank> v2",
         "Chargeback predictor", "Łódź demand forecaster", "=HYPERLINK(\"http://x\")", "Home feed ranker"]
TIERS = ["critical", "high", "medium", "low"]
TIER_WEIGHT = {"low": 1, "medium": 2, "high": 3, "critical": 4}
LIFECYCLES = ["production", "staging", "development", "research"]
OWNERS = ["Ana", "Björn", "@ops-team", "Zoë", "-", "+Ingrid"]
NOTES = ["KMS everywhere", "=SUM(A1:A9) looks like a formula", "Partly: see <runbook> & wiki",
         "", "Reviewed quarterly.\nSecond line of notes " + "with a long explanation " * 8, "-1 for legacy jobs"]
CHECKS = [  # key, title, covered practices
    ("dependency-vulnerabilities", "Dependency vulnerabilities", ["MLS-03", "MLS-13"]),
    ("endpoint-transport", "Endpoint transport security", ["MLS-01", "MLS-07", "MLS-22"]),
    ("endpoint-authentication", "Endpoint authentication", ["MLS-02", "MLS-04", "MLS-07"]),
]


def _practices(count: int) -> list[tuple[str, str, str, int]]:
    rows = list(CATALOGUE[:count])
    for n in range(1, count - len(rows) + 1):  # organisations add their own ORG-nn practices
        rows.append((f"ORG-{n:02d}", f"Organisation practice {n} — über-secure", "Governance and people", 1))
    return rows


def evidence_bytes(evidence_id: int, name: str) -> bytes:
    """The (decrypted) bytes of a file evidence: deterministic, varied in size, not all ASCII."""
    head = f"%PDF-1.4\n% evidence {evidence_id} {name} — pièce jointe\n".encode()
    body = hashlib.sha256(str(evidence_id).encode()).digest() * (8 + evidence_id % 40)
    return head + body + b"\n%%EOF\n"


def _stamp(day: int, hour: int = 10) -> str:
    return f"2026-{10 + day // 28:02d}-{1 + day % 28:02d}T{hour:02d}:15:00+00:00"


def make_project(index: int, practices: list[tuple[str, str, str, int]]) -> dict:
    """Project number `index` (0-based): the same dict every time it is asked for."""
    rng = random.Random(f"mlsec-sample:{index}")
    team_slug, team_name = TEAMS[index % len(TEAMS)]
    base = NAMES[index % len(NAMES)]
    name = base if index < len(NAMES) else f"{base} #{index}"
    pid = 100 + index
    assessed = index % 3 != 2
    awaiting = index % 6 == 5  # not assessed yet, but a submitted assessment awaits review
    tier = TIERS[index % len(TIERS)]
    runs, run_id = [], 1000 + index * 10
    for k, (key, title, covered) in enumerate(CHECKS):
        status = ("failed", "passed", "error", "skipped")[(index + k) % 4] if k else ("failed", "passed")[index % 2]
        findings = []
        if status == "failed":
            findings = [{"severity": "high", "title": "pyyaml 5.3.1: GHSA-8q59-q68h-6hv4 <unsafe load>",
                         "detail": "Arbitrary code execution & more", "ref": "GHSA-8q59-q68h-6hv4"},
                        {"severity": "medium", "title": "requests 2.19.0: CVE-2018-18074", "detail": "",
                         "ref": "CVE-2018-18074"}]
        runs.append({"id": run_id + k, "check": key, "title": title, "status": status,
                     "started_at": _stamp(index % 50, 2), "finished_at": _stamp(index % 50, 3),
                     "summary": {"failed": f"{len(findings)} vulnerable packages", "passed": "all good",
                                 "error": "could not reach the endpoint", "skipped": "no endpoint configured"}[status],
                     "findings": findings, "practices": covered})
    failed = {c for r in runs if r["status"] == "failed" for c in r["practices"]}
    passed = {c for r in runs if r["status"] == "passed" for c in r["practices"]} - failed
    evidence, acceptances, answers = [], [], []
    eid = 10_000 + index * 100
    for pos, (code, title, _category, _weight) in enumerate(practices):
        na = assessed and code == "MLS-14" and index % 2 == 0
        level = None if not assessed or na else rng.choice([0, 1, 2, 2, 3, 3, 4])
        items = []
        if assessed and pos % 4 == 0:
            eid += 1
            original = f"{code.lower()}-policy données.pdf" if pos % 8 == 0 else f"{code.lower()}-policy.pdf"
            data = evidence_bytes(eid, original)
            stale = pos % 12 == 0
            items.append({"id": eid, "practice": code, "kind": "file", "title": f"{title} policy <v{pos}>",
                          "url": "", "text": "", "sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
                          "content_type": "application/pdf", "original_name": original, "version": 1 + pos % 3,
                          "status": ("accepted", "pending")[pos % 8 == 4], "valid_until": "2026-06-30" if stale else "2027-06-30",
                          "created_at": _stamp(pos), "uploaded_by": "lead", "reviewed_by": "officer",
                          "reviewed_at": _stamp(pos + 1), "check_run": None, "file": f"evidence/{eid}-{original}"})
        if assessed and pos % 5 == 1:
            eid += 1
            items.append({"id": eid, "practice": code, "kind": "link", "title": "Runbook & dashboards",
                          "url": f"https://wiki.example.org/ml/{code.lower()}?a=1&b=2", "text": "", "sha256": "",
                          "size": 0, "content_type": "", "original_name": "", "version": 1, "status": "pending",
                          "valid_until": None, "created_at": _stamp(pos), "uploaded_by": "lead", "reviewed_by": None,
                          "reviewed_at": None, "check_run": None, "file": None})
        if assessed and pos % 7 == 3:
            eid += 1
            items.append({"id": eid, "practice": code, "kind": "note", "title": "Reviewer note",
                          "url": "", "text": "Checked with the platform team; <b>not</b> markup.", "sha256": "",
                          "size": 0, "content_type": "", "original_name": "", "version": 1, "status": "accepted",
                          "valid_until": None, "created_at": _stamp(pos), "uploaded_by": "officer",
                          "reviewed_by": "officer", "reviewed_at": _stamp(pos), "check_run": None, "file": None})
        for run in runs:
            if code == run["practices"][0] and run["status"] in ("passed", "failed"):
                eid += 1
                items.append({"id": eid, "practice": code, "kind": "check", "title": f"{run['title']}: {run['status']}",
                              "url": "", "text": run["summary"], "sha256": "", "size": 0, "content_type": "",
                              "original_name": "", "version": 1, "status": "accepted", "valid_until": None,
                              "created_at": run["finished_at"], "uploaded_by": None, "reviewed_by": None,
                              "reviewed_at": None, "check_run": run["id"], "check_status": run["status"], "file": None})
        evidence.extend(items)
        accepted = False
        if code == "MLS-15" or (code == "MLS-09" and index % 2):
            status = "approved" if code == "MLS-15" else "proposed"
            acceptances.append({"id": 500 + index * 5 + pos, "practice": code, "status": status,
                                "justification": "Compensating control: egress proxy logs reviewed weekly & <alerts>.",
                                "expires_on": "2027-01-31", "proposed_by": "lead",
                                "approved_by": "officer" if status == "approved" else None,
                                "decided_at": _stamp(20) if status == "approved" else None})
            accepted = status == "approved"
        capped = level is not None and level > 1 and code in failed
        effective = None if level is None else (min(level, 1) if capped else level)
        stale = any(e["valid_until"] and e["valid_until"] < AS_OF for e in items)
        verified = level is not None and not capped and (
            code in passed or any(e["status"] == "accepted" and e["kind"] in ("file", "note") for e in items))
        answers.append({
            "code": code, "title": title, "level": level, "not_applicable": na,
            "justification": "Data can be pooled safely in one region." if na else "",
            "notes": NOTES[(index + pos) % len(NOTES)] if assessed else "",
            "owner": OWNERS[(index + pos) % len(OWNERS)] if assessed else "",
            "target_level": min(4, level + rng.choice([0, 1, 1, 2])) if level is not None and pos % 3 else None,
            "due_date": "2027-03-01" if level is not None and pos % 3 else None,
            "score": None if effective is None else effective / 4 * 100, "effective_level": effective,
            "capped": capped, "stale": stale, "accepted": accepted, "verified": verified,
            "evidence_count": len(items), "submitted": awaiting and not na})
    scored = [(a["score"], w) for a, (_c, _t, _g, w) in zip(answers, practices, strict=True) if a["score"] is not None]
    score = round(sum(s * w for s, w in scored) / sum(w for _s, w in scored), 1) if scored else None
    assessment = None
    if assessed:
        assessment = {"id": 4000 + index, "cycle": "2026-Q4", "status": "approved", "catalog_version": "2026.11",
                      "submitted_by": "lead", "submitted_at": _stamp(index % 20, 9),
                      "reviewed_by": "officer", "reviewed_at": _stamp(index % 20 + 2, 16),
                      "review_comment": "Good progress <b>overall</b> & keep going.\nFollow up on MLS-03."}
    return {"id": pid, "name": name, "slug": f"project-{pid}", "team": team_slug, "team_name": team_name,
            "risk_tier": tier, "lifecycle": LIFECYCLES[index % len(LIFECYCLES)],
            "data_classification": ("confidential", "internal", "restricted", "public")[index % 4],
            "score": score, "assessment": assessment, "answers": answers, "evidence": evidence,
            "awaiting_review": {"id": 4500 + index, "cycle": "2026-Q4", "submitted_by": "lead",
                                "submitted_at": _stamp(index % 20, 11)} if awaiting else None,
            "check_runs": runs, "risk_acceptances": acceptances}


def _stats(projects_answers: list[tuple[str, list[dict]]], count: int, covered: int, practices) -> tuple:
    """Tier-weighted practice stats (docs/scoring.md) from (risk tier, answers) pairs."""
    rows = []
    for pos, (code, title, category, weight) in enumerate(practices):
        cells = [(TIER_WEIGHT[t], a[pos]) for t, a in projects_answers]
        scored = [(w, a) for w, a in cells if a["score"] is not None]
        answered = [a for _w, a in cells if a["level"] is not None or a["not_applicable"]]
        rows.append({"code": code, "title": title, "category": category, "weight": weight,
                     "score": round(sum(w * a["score"] for w, a in scored) / sum(w for w, _a in scored), 1) if scored else None,
                     "coverage": round(100 * len(answered) / count, 1) if count else None,
                     "verified": round(100 * sum(a["verified"] for _w, a in scored) / len(scored), 1) if scored else None,
                     "stale": any(a["stale"] for _w, a in cells), "accepted": any(a["accepted"] for _w, a in cells),
                     "capped": sum(a["capped"] for _w, a in cells)})
    with_score = [r for r in rows if r["score"] is not None]
    overall = (round(sum(r["score"] * r["weight"] for r in with_score) / sum(r["weight"] for r in with_score), 1)
               if with_score else None)
    n_scored = sum(1 for _t, a in projects_answers for x in a if x["score"] is not None)
    n_verified = sum(1 for _t, a in projects_answers for x in a if x["score"] is not None and x["verified"])
    summary = {"score": overall, "coverage": round(100 * covered / count, 1) if count else None,
               "verified": round(100 * n_verified / n_scored, 1) if n_scored else None,
               "projects": count, "covered_projects": covered}
    return rows, summary


def make_dataset(projects: int = 3, practices: int = 25, as_generator: bool = True, scope: str = "team") -> dict:
    """The dataset contract of the export renderers, `projects` projects × `practices` practices.

    With `as_generator`, `dataset["projects"]` is a one-shot generator that builds each project only
    when asked for; the summary is computed in a first pass that keeps only the answers' flags.
    """
    rows = _practices(practices)
    pairs, per_team, covered = [], {}, 0
    for i in range(projects):
        p = make_project(i, rows)
        slim = [{k: a[k] for k in ("score", "level", "not_applicable", "verified", "stale", "accepted", "capped")}
                for a in p["answers"]]
        pairs.append((p["risk_tier"], slim))
        per_team.setdefault(p["team"], []).append((p["risk_tier"], slim, p["assessment"] is not None))
        covered += p["assessment"] is not None
    org_rows, summary = _stats(pairs, projects, covered, rows)
    teams = []
    for slug, name in TEAMS:
        members = per_team.get(slug)
        if not members:
            continue
        t_rows, t_summary = _stats([(t, a) for t, a, _c in members], len(members), sum(c for *_x, c in members), rows)
        teams.append({"slug": slug, "name": name, **t_summary, "practices": t_rows})
    if scope == "team":
        scope_dict = {"kind": "team", "label": "Fraud detection", "team": "fraud-detection", "project": None}
    else:
        scope_dict = {"kind": "org", "label": "Example Org — Ünïcode Ltd", "team": None, "project": None}

    def generate() -> Iterator[dict]:
        for i in range(projects):
            yield make_project(i, rows)

    return {
        "title": f"ML security posture — {scope_dict['label']}",
        "generated_at": "2026-11-29T14:02:11+00:00",
        "generated_by": "auditor",
        "as_of": AS_OF,
        "moment": MOMENT,
        "scope": scope_dict,
        "catalog_version": "2026.11",
        "portal": {"name": "MLSec Portal", "base_url": "https://mlsec.example.org",
                   "public_key_fingerprint": "SHA256:" + "0" * 64},
        "summary": summary,
        "practices": org_rows,
        "teams": teams,
        "projects": generate() if as_generator else list(generate()),
    }


def materialise(dataset: dict) -> dict:
    """The same dataset with its projects as a list (consumes a generator)."""
    return {**dataset, "projects": list(dataset["projects"])}


def sample_evidence_files(dataset: dict) -> dict[str, bytes]:
    """The decrypted bytes of every evidence "file" path of the dataset.

    A list of projects is read as is; a generator (already consumed or not) is never touched: the
    projects are rebuilt from their indexes, which `make_dataset` guarantees give the same dicts.
    """
    projects = dataset["projects"]
    if not isinstance(projects, list | tuple):
        rows = [(p["code"], p["title"], p["category"], p["weight"]) for p in dataset["practices"]]
        projects = (make_project(i, rows) for i in range(dataset["summary"]["projects"]))
    files = {}
    for project in projects:
        for item in project["evidence"]:
            if item["file"]:
                files[item["file"]] = evidence_bytes(item["id"], item["original_name"])
    return files
