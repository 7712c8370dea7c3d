"""Shared evidence: one team document linked to three projects counts, expires and is audited for all three."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from assessments.choices import AssessmentStatus
from assessments.tests.factories import ProjectFactory, make_assessment
from audit.models import AuditEvent
from controls.models import Practice
from evidence import services, sharing
from evidence.models import Evidence, EvidenceLink
from scoring.engine import score_inputs

pytestmark = pytest.mark.django_db


def in_days(n):
    return timezone.localdate() + dt.timedelta(days=n)


@pytest.fixture
def mls07():
    return Practice.objects.get(code="MLS-07")


@pytest.fixture
def three(org):
    projects = [org.project, ProjectFactory(team=org.team, name="Second"), ProjectFactory(team=org.team, name="Third")]
    for project in projects:
        make_assessment(project, levels=3, status=AssessmentStatus.APPROVED)
    return projects


def share(org, practice, *, team=None, valid_until=None, **dates):
    return services.evidence_add(actor=org.lead if team else org.officer, project=None, team=team, practice=practice,
                                 kind="note", title="KMS key policy", text="Keys rotate yearly.",
                                 valid_until=valid_until, **dates)


def cells(projects, practice, moment=None):
    inputs = score_inputs(moment=moment or timezone.now(), group_by="project", project_ids=[p.pk for p in projects])
    return [inputs.cells[(p.pk, practice.pk)] for p in projects]


def test_a_team_document_linked_to_three_projects_counts_for_all_three_and_its_expiry_makes_all_stale(
        org, three, mls07):
    document = share(org, mls07, team=org.team, valid_until=in_days(10))
    for project in three:
        sharing.evidence_link(actor=org.lead, evidence=document, project=project, practice=mls07)
    assert [c.verified for c in cells(three, mls07)] == [0, 0, 0]  # pending review: not yet verified
    services.evidence_review(actor=org.officer, evidence=document, status="accepted")
    assert [c.verified for c in cells(three, mls07)] == [1, 1, 1]
    assert not any(c.stale for c in cells(three, mls07))
    with time_machine.travel(timezone.now() + dt.timedelta(days=12)):
        later = cells(three, mls07)
    assert all(c.stale for c in later) and [c.verified for c in later] == [0, 0, 0]
    links = AuditEvent.objects.filter(action="evidence.link", object_id=str(document.pk)).order_by("seq")
    assert [e.changes["after"]["project"] for e in links] == [p.pk for p in three]


def test_a_new_version_updates_every_linked_project_and_the_past_keeps_the_old(org, three, mls07):
    old = share(org, mls07, team=org.team, valid_until=in_days(3))
    for project in three:
        sharing.evidence_link(actor=org.lead, evidence=old, project=project, practice=mls07)
    services.evidence_review(actor=org.officer, evidence=old, status="accepted")
    before = timezone.now()
    new = services.evidence_add(actor=org.member, project=None, team=org.team, practice=mls07, kind="note",
                                title="KMS key policy", text="Keys rotate every 90 days.", supersedes=old)
    assert set(EvidenceLink.objects.filter(evidence=new, unlinked_at__isnull=True)
               .values_list("project_id", flat=True)) == {p.pk for p in three}
    assert [c.verified for c in cells(three, mls07)] == [0, 0, 0]  # the new version waits for review
    assert [c.verified for c in cells(three, mls07, moment=before)] == [1, 1, 1]
    assert AuditEvent.objects.filter(action="evidence.links_carried", object_id=str(new.pk)).exists()


def test_unlinking_stops_it_counting_and_is_audited(org, three, mls07):
    document = share(org, mls07, team=org.team)
    link = sharing.evidence_link(actor=org.lead, evidence=document, project=three[0], practice=mls07)
    services.evidence_review(actor=org.officer, evidence=document, status="accepted")
    sharing.evidence_unlink(actor=org.member, link=link)
    assert cells(three[:1], mls07)[0].verified == 0
    assert AuditEvent.objects.filter(action="evidence.unlink", object_id=str(document.pk)).exists()


def test_other_teams_neither_see_nor_link_a_teams_document(org, mls07):
    document = share(org, mls07, team=org.team)
    assert not Evidence.objects.visible_to(org.other_lead).filter(pk=document.pk).exists()
    with pytest.raises(PermissionDenied):
        sharing.evidence_link(actor=org.other_lead, evidence=document, project=org.other_project, practice=mls07)
    with pytest.raises(PermissionDenied):  # nor may the team link its document to another team's project
        sharing.evidence_link(actor=org.lead, evidence=document, project=org.other_project, practice=mls07)
    with pytest.raises(PermissionDenied):
        sharing.evidence_link(actor=org.auditor, evidence=document, project=org.project, practice=mls07)
    assert not EvidenceLink.objects.exists()


def test_the_organisations_document_is_stored_by_officers_and_linked_by_any_team(org, mls07):
    with pytest.raises(PermissionDenied):
        services.evidence_add(actor=org.lead, project=None, practice=mls07, kind="note", title="t", text="t")
    document = share(org, mls07)
    assert document.scope == "organisation"
    assert Evidence.objects.visible_to(org.other_lead).filter(pk=document.pk).exists()
    sharing.evidence_link(actor=org.other_lead, evidence=document, project=org.other_project, practice=mls07)
    sharing.evidence_link(actor=org.officer, evidence=document, project=org.project, practice=mls07)
    with pytest.raises(ValidationError):  # a double click links nothing twice
        sharing.evidence_link(actor=org.officer, evidence=document, project=org.project, practice=mls07)
    own = services.evidence_add(actor=org.lead, project=org.project, practice=mls07, kind="note", title="t", text="t")
    with pytest.raises(ValidationError):  # a project's own evidence is not linked elsewhere
        sharing.evidence_link(actor=org.lead, evidence=own, project=org.project, practice=mls07)


@pytest.mark.parametrize("dates,field", [
    ({"effective_on": 1}, "effective_on"),
    ({"observed_from": -10}, "observed_until"),
    ({"observed_from": -5, "observed_until": -10}, "observed_until"),
    ({"effective_on": -20, "observed_from": -30, "observed_until": -10}, "observed_until"),
    ({"effective_on": -5, "valid_until": -6}, "valid_until"),
])
def test_dates_apart_from_the_upload_must_make_sense(org, mls07, dates, field):
    values = {k: in_days(v) for k, v in dates.items()}
    with pytest.raises(ValidationError) as exc:
        services.evidence_add(actor=org.lead, project=org.project, practice=mls07, kind="note", title="t", text="t",
                              **values)
    assert field in exc.value.message_dict
    assert not Evidence.objects.exists()


def test_an_audit_report_counts_from_its_effective_date_in_the_freshness_check(org):
    from checks.freshness import EvidenceFreshnessCheck
    from checks.runners.base import CheckContext

    mls08 = Practice.objects.get(code="MLS-08")
    old = services.evidence_add(actor=org.lead, project=org.project, practice=mls08, kind="note", title="Pentest",
                                text="report", effective_on=in_days(-400), observed_from=in_days(-430),
                                observed_until=in_days(-401))
    services.evidence_review(actor=org.officer, evidence=old, status="accepted")
    ctx = CheckContext(targets=None, allowed_roots=[])
    ctx.project_id = org.project.pk
    result = EvidenceFreshnessCheck().run(ctx)
    assert "MLS-08: evidence is 400 days old" in [f.title for f in result.findings]
    shared = services.evidence_add(actor=org.officer, project=None, practice=mls08, kind="note", title="Org pentest",
                                   text="r", effective_on=in_days(-30))
    services.evidence_review(actor=_other_officer(), evidence=shared, status="accepted")  # not its uploader
    sharing.evidence_link(actor=org.lead, evidence=shared, project=org.project, practice=mls08)
    result = EvidenceFreshnessCheck().run(ctx)
    assert not any(f.ref == "MLS-08" for f in result.findings)


def _other_officer():
    from accounts.tests.factories import UserFactory

    return UserFactory(username="officer-2", org_role="officer")


def test_the_api_stores_shares_links_and_unlinks_with_the_right_answers(org, api, mls07):
    lead = api(org.lead)
    response = lead.post("/api/v1/evidence/", {"team": "fraud", "practice": "MLS-07", "kind": "note", "title": "Policy",
                                               "text": "t", "effective_on": in_days(-3).isoformat()}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["scope"], body["project"], body["team"], body["effective_on"]) == ("team", None, "fraud",
                                                                                    in_days(-3).isoformat())
    doc = body["id"]
    assert api(org.other_lead).post("/api/v1/evidence/", {"team": "fraud", "practice": "MLS-07", "kind": "note",
                                                          "title": "x", "text": "t"}, format="json").status_code == 400
    assert lead.post("/api/v1/evidence/", {"practice": "MLS-07", "kind": "note", "title": "x", "text": "t"},
                     format="json").status_code == 400
    assert lead.post("/api/v1/evidence/", {"organisation": True, "practice": "MLS-07", "kind": "note", "title": "x",
                                           "text": "t"}, format="json").status_code == 403
    assert api(org.other_lead).post(f"/api/v1/evidence/{doc}/links/", {"project": org.other_project.pk,
                                                                       "practice": "MLS-07"}).status_code == 404
    assert api(org.auditor).post(f"/api/v1/evidence/{doc}/links/", {"project": org.project.pk,
                                                                    "practice": "MLS-07"}).status_code == 403
    linked = lead.post(f"/api/v1/evidence/{doc}/links/", {"project": org.project.pk, "practice": "MLS-07"})
    assert linked.status_code == 201 and [link["project"] for link in linked.json()["links"]] == [org.project.pk]
    again = lead.post(f"/api/v1/evidence/{doc}/links/", {"project": org.project.pk, "practice": "MLS-07"})
    assert again.status_code == 400
    link_id = linked.json()["links"][0]["id"]
    assert lead.delete(f"/api/v1/evidence/{doc}/links/{link_id}/").status_code == 204
    assert lead.get(f"/api/v1/evidence/{doc}/").json()["links"] == []


def test_the_page_links_a_shared_document_and_lists_the_links(org, client, mls07):
    document = share(org, mls07, team=org.team)
    client.force_login(org.lead)
    page = client.get(f"/evidence/{document.pk}/").content.decode()
    assert "Counts for these projects" in page and "Not linked to any project yet." in page
    response = client.post(f"/evidence/{document.pk}/links/", {"project": org.project.pk, "practice": "MLS-07"})
    assert response.status_code == 302
    assert 'data-link="card-fraud-MLS-07"' in client.get(f"/evidence/{document.pk}/").content.decode()
    client.force_login(org.other_lead)
    assert client.get(f"/evidence/{document.pk}/").status_code == 404


def test_the_shared_evidence_page_stores_a_team_document(org, client):
    client.force_login(org.member)
    response = client.post("/evidence/shared/new/", {"owner": "team:fraud", "practice": "MLS-07", "kind": "note",
                                                     "title": "IR plan", "text": "Call the on-call.",
                                                     "effective_on": in_days(-1).isoformat()})
    assert response.status_code == 302
    stored = Evidence.objects.get(title="IR plan")
    assert (stored.team, stored.project, stored.effective_on) == (org.team, None, in_days(-1))
    bad = client.post("/evidence/shared/new/", {"owner": "organisation", "practice": "MLS-07", "kind": "note",
                                                "title": "x", "text": "t"})
    assert bad.status_code == 400 and Evidence.objects.count() == 1


def test_exports_and_the_project_page_list_the_linked_document_under_each_project(org, three, mls07, client):
    from reports.dataset import Scope, build_dataset

    document = share(org, mls07, team=org.team, effective_on=in_days(-2))
    for project in three:
        sharing.evidence_link(actor=org.lead, evidence=document, project=project, practice=mls07)
    dataset = build_dataset(scope=Scope("team", team=org.team, teams=[org.team]), as_of=None, generated_by="t")
    rows = {p["id"]: p for p in dataset["projects"]}
    for project in three:
        listed = [e for e in rows[project.pk]["evidence"] if e["id"] == document.pk]
        assert [(e["practice"], e["shared"], e["effective_on"]) for e in listed] == [
            ("MLS-07", True, in_days(-2).isoformat())]
        answer = next(a for a in rows[project.pk]["answers"] if a["code"] == "MLS-07")
        assert answer["evidence_count"] == 1
    earlier = build_dataset(scope=Scope("team", team=org.team, teams=[org.team]),
                            as_of=in_days(-1), generated_by="t")
    assert all(not p["evidence"] for p in earlier["projects"])


def test_the_scorecard_rollup_follows_shared_evidence_through_links_versions_unlinks_and_expiry(org, three, mls07):
    """The rollup read for "now" counts a linked document for all three projects and agrees with the full
    recomputation after every step (links, review, a new version carrying the links, an unlink, expiry)."""
    from scoring import rollup
    from scoring.reconcile import expire

    def verified():
        inputs = rollup.project_inputs(project_ids=[p.pk for p in three], practice_ids=[mls07.pk])
        return [inputs.cells[(p.pk, mls07.pk)].verified if (p.pk, mls07.pk) in inputs.cells else 0 for p in three]

    document = share(org, mls07, team=org.team, valid_until=in_days(10))
    for project in three:
        sharing.evidence_link(actor=org.lead, evidence=document, project=project, practice=mls07)
    services.evidence_review(actor=org.officer, evidence=document, status="accepted")
    assert verified() == [1, 1, 1] and rollup.differences() == []
    new = services.evidence_add(actor=org.member, project=None, team=org.team, practice=mls07, kind="note",
                                title="KMS key policy", text="Keys rotate every 90 days.", supersedes=document,
                                valid_until=in_days(10))
    assert verified() == [0, 0, 0] and rollup.differences() == []  # the new version waits for review
    services.evidence_review(actor=org.officer, evidence=new, status="accepted")
    assert verified() == [1, 1, 1] and rollup.differences() == []
    sharing.evidence_unlink(actor=org.lead, link=EvidenceLink.objects.get(evidence=new, project=three[0],
                                                                        unlinked_at__isnull=True))
    assert verified() == [0, 1, 1] and rollup.differences() == []
    with time_machine.travel(timezone.now() + dt.timedelta(days=12)):
        assert expire() >= 2  # the midnight task finds the projects a shared document ended for
        assert verified() == [0, 0, 0] and rollup.differences() == []


def test_the_organisations_document_shows_each_reader_only_the_projects_they_see(org, mls07, client, api):
    """Found by review: its page and the API listed every team's project it served, with who linked it."""
    document = share(org, mls07)
    sharing.evidence_link(actor=org.other_lead, evidence=document, project=org.other_project, practice=mls07)
    sharing.evidence_link(actor=org.lead, evidence=document, project=org.project, practice=mls07)
    client.force_login(org.member)
    page = client.get(f"/evidence/{document.pk}/").content.decode()
    assert org.project.name in page and org.other_project.name not in page and "other-lead" not in page
    links = api(org.member).get(f"/api/v1/evidence/{document.pk}/").data["links"]
    assert [link["project"] for link in links] == [org.project.pk]
    everyone = api(org.officer).get(f"/api/v1/evidence/{document.pk}/").data["links"]
    assert {link["project"] for link in everyone} == {org.project.pk, org.other_project.pk}
