"""Property: after ANY sequence of scoring events, the rollup equals the full recomputation, cell by cell.

Hypothesis draws sequences of approvals (newer and older cycles), check verdicts (passed, failed, error),
evidence (added, accepted, rejected, superseded), risk acceptances (proposed, decided), midnights passing
(evidence and acceptances expire), projects archived and moved, and catalogue weights changed; after
each event it asserts `rollup.differences() == []`, that the live scorecard equals the one assembled
from the recomputation, and that the documents the API and the dashboard remember equal it too. Every example runs in a savepoint that is rolled back.
"""

import datetime as dt

import orjson
import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from accounts.choices import OrgRole
from accounts.tests.factories import TeamFactory, UserFactory
from assessments import services as assessment_services
from assessments.choices import AssessmentStatus, RiskTier
from assessments.models import Project, RiskAcceptance
from assessments.tests.factories import ProjectFactory, make_assessment
from checks.models import CheckRun
from checks.runners.base import CheckResult
from checks.services import finish_run
from controls.models import Practice
from evidence.models import Evidence, EvidenceKind
from evidence.services import evidence_review
from scoring import rollup
from scoring.api.serializers import scorecard_payload
from scoring.engine import score_inputs
from scoring.reconcile import expire
from scoring.services import assemble, remembered_live, scorecard_for
from scoring.views import DashboardCard

pytestmark = pytest.mark.django_db

CODES = ("MLS-01", "MLS-02", "MLS-07", "MLS-14")  # covered by endpoint checks, and not
CHECKS = ("endpoint-transport", "endpoint-authentication")
P = st.integers(0, 2)  # which project
LEVEL = st.one_of(st.none(), st.integers(0, 4))

events = st.one_of(
    st.tuples(st.just("approve"), P, st.lists(LEVEL, min_size=4, max_size=4), st.booleans()),
    st.tuples(st.just("verdict"), P, st.sampled_from(CHECKS), st.sampled_from(["passed", "failed", "error"])),
    st.tuples(st.just("evidence"), P, st.sampled_from(CODES), st.integers(0, 3)),
    st.tuples(st.just("review"), st.integers(0, 5), st.sampled_from(["accepted", "rejected"])),
    st.tuples(st.just("acceptance"), P, st.sampled_from(CODES), st.integers(1, 3)),
    st.tuples(st.just("midnight")),
    st.tuples(st.just("archive"), P),
    st.tuples(st.just("move"), P),
    st.tuples(st.just("weight"), st.sampled_from(CODES), st.integers(1, 3)),
)


class World:
    def __init__(self):
        self.officer = UserFactory(username="prop-officer", org_role=OrgRole.OFFICER)
        self.lead = UserFactory(username="prop-lead")
        self.teams = [TeamFactory(slug="prop-a"), TeamFactory(slug="prop-b")]
        tiers = (RiskTier.LOW, RiskTier.HIGH, RiskTier.CRITICAL)
        self.projects = [ProjectFactory(team=self.teams[i % 2], risk_tier=tier) for i, tier in enumerate(tiers)]
        self.practices = {p.code: p for p in Practice.objects.filter(code__in=CODES)}
        self.cycles = 0
        for project in self.projects:  # every project starts assessed, so checks and evidence matter at once
            self.approve(self.projects.index(project), [3, 2, 4, 1], False)

    def project(self, index):
        return Project.objects.get(pk=self.projects[index].pk)

    def apply(self, event):
        kind, *args = event
        getattr(self, kind)(*args)

    def approve(self, index, levels, older):
        project = self.project(index)
        if project.archived_at:
            return
        self.cycles += 1
        year = 2040 - self.cycles if older else 2040 + self.cycles
        answers = {code: level for code, level in zip(CODES, levels, strict=True) if level is not None}
        na = tuple(code for code, level in zip(CODES, levels, strict=True) if level is None)
        assessment = make_assessment(project, cycle=f"{year}-Q1", status=AssessmentStatus.SUBMITTED,
                                     levels=answers, na=na)
        assessment_services.assessment_approve(actor=self.officer, assessment=assessment)

    def verdict(self, index, key, status):
        run = CheckRun.objects.create(project=self.project(index), definition_id=key, status="running",
                                      started_at=timezone.now())
        finish_run(run, CheckResult(status, status))

    def evidence(self, index, code, days):
        project = self.project(index)
        previous = Evidence.objects.filter(project=project, practice=self.practices[code], superseded_at__isnull=True,
                                           kind=EvidenceKind.NOTE).first()
        if previous is not None:  # a new version supersedes the old one
            previous.superseded_at = timezone.now()
            previous.save(update_fields=["superseded_at"])
        Evidence.objects.create(project=project, practice=self.practices[code], kind=EvidenceKind.NOTE, title=code,
                                text="note", previous=previous, valid_until=timezone.localdate() + dt.timedelta(days))

    def review(self, nth, status):
        pending = list(Evidence.objects.filter(status="pending", kind=EvidenceKind.NOTE).order_by("pk"))
        if pending:
            evidence = pending[nth % len(pending)]
            if evidence.valid_until is None or evidence.valid_until >= timezone.localdate():
                evidence_review(actor=self.officer, evidence=evidence, status=status, note="reviewed")

    def acceptance(self, index, code, days):
        acceptance = RiskAcceptance.objects.create(
            project=self.project(index), practice=self.practices[code], proposed_by=self.lead,
            justification="Accepted for the length of this property test.",
            expires_on=timezone.localdate() + dt.timedelta(days))
        assessment_services.acceptance_decide(actor=self.officer, acceptance=acceptance, status="approved")

    def midnight(self):
        # A day passes for the data: every date moves one day into the past, as the calendar would.
        for model, column in ((Evidence, "valid_until"), (RiskAcceptance, "expires_on")):
            for pk, day in model.objects.exclude(**{column: None}).values_list("pk", column):
                model.objects.filter(pk=pk).update(**{column: day - dt.timedelta(days=1)})
        expire()

    def archive(self, index):
        project = self.project(index)
        if not project.archived_at:
            assessment_services.project_archive(actor=self.officer, project=project)

    def move(self, index):
        project = self.project(index)
        project.team = self.teams[1] if project.team_id == self.teams[0].pk else self.teams[0]
        project.save()

    def weight(self, code, weight):
        practice = self.practices[code]
        practice.weight = weight
        practice.save(update_fields=["weight"])

    def check(self):
        assert rollup.differences() == []
        teams = sorted(self.teams, key=lambda t: t.pk)
        practices = list(Practice.objects.active().order_by("number"))
        live = scorecard_for(teams)
        reference = assemble(score_inputs(moment=timezone.now(), team_ids=[t.pk for t in teams]), teams, practices,
                             as_of=live.as_of, moment=live.moment, source="live")
        assert [(t.score, t.coverage, t.verified, t.projects) for t in live.teams] == [
            (t.score, t.coverage, t.verified, t.projects) for t in reference.teams]
        assert (live.score, live.coverage, live.verified) == (reference.score, reference.coverage, reference.verified)
        # What the API and the dashboard remember (scoring/cache.py) is what they would build now.
        remembered = remembered_live("api", teams, lambda card: orjson.dumps(scorecard_payload(card)))
        assert orjson.loads(remembered) == scorecard_payload(reference)
        assert remembered_live("dashboard", teams, DashboardCard.of) == DashboardCard.of(reference)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(sequence=st.lists(events, min_size=1, max_size=12))
@example(sequence=[("verdict", 0, "endpoint-transport", "failed"), ("verdict", 0, "endpoint-transport", "passed")])
@example(sequence=[("evidence", 1, "MLS-02", 0), ("review", 0, "accepted"), ("midnight",), ("evidence", 1, "MLS-02", 2)])
@example(sequence=[("acceptance", 2, "MLS-14", 1), ("midnight",), ("move", 2), ("archive", 0)])
def test_the_rollup_agrees_with_the_recomputation_after_every_event(db, sequence):
    savepoint = transaction.savepoint()
    try:
        world = World()
        world.check()
        for event in sequence:
            world.apply(event)
            world.check()
    finally:
        transaction.savepoint_rollback(savepoint)
