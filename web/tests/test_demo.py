"""`seed_demo`: a believable organisation with a login per role, every assessment state, real check
targets, history, and the portal's own honest self-assessment."""

from collections import Counter

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import User
from assessments.models import Answer, Assessment, Project
from checks.models import Advisory, CheckRun
from checks.registry import check_keys
from evidence.models import Evidence
from scoring.models import ScoreSnapshot
from web.demo import DEMO_PASSWORD
from web.self_assessment import SELF_ASSESSMENT


@pytest.fixture
def demo(db, settings, tmp_path, django_capture_on_commit_callbacks):
    settings.VAR_DIR = tmp_path / "var"
    settings.MLSEC_CHECK_ROOTS = [str(tmp_path / "check-targets")]
    call_command("seed_demo", history_days=3)


def test_the_demo_has_a_login_for_each_role(demo):
    roles = {u.username: (u.org_role, list(u.memberships.values_list("role", flat=True))) for u in User.objects.all()}
    assert roles["admin"][0] == "admin" and roles["officer"][0] == "officer" and roles["auditor"][0] == "auditor"
    assert roles["lead"][1] == ["lead"] and roles["member"][1] == ["member"]
    assert User.objects.get(username="officer").check_password(DEMO_PASSWORD)


def test_the_demo_has_every_assessment_state_and_every_risk_tier(demo):
    assert set(Assessment.objects.values_list("status", flat=True)) == {"draft", "submitted", "returned", "approved"}
    assert set(Project.objects.values_list("risk_tier", flat=True)) == {"low", "medium", "high", "critical"}
    assert Assessment.objects.filter(superseded_at__isnull=False).exists()  # history: older cycles were superseded


def test_the_demo_checks_are_queued_on_real_targets_with_fictional_advisories(demo):
    assert Advisory.objects.filter(osv_id__startswith="MLSEC-DEMO-").count() == 4
    assert CheckRun.objects.filter(status="queued").count() > 50
    careless = Project.objects.exclude(check_targets={}).first()
    assert careless.check_targets["dependency_files"][0].endswith("requirements.txt")


def test_every_demo_project_keeps_its_files_in_its_own_teams_directory_and_every_check_is_exercised(demo, settings):
    from checks.confinement import check_targets_validate, team_check_roots

    root = settings.MLSEC_CHECK_ROOTS[0]
    projects = list(Project.objects.exclude(check_targets={}).select_related("team"))
    assert len({p.team_id for p in projects}) > 3
    for project in projects:
        check_targets_validate(team=project.team, targets=project.check_targets)  # raises when outside
        (own,) = team_check_roots(project.team)
        assert own == f"{root}/{project.team.slug}"
        for path in [project.check_targets.get("source_path", ""), *project.check_targets.get("datasets", [])]:
            assert not path or path.startswith(own + "/")
    queued = set(CheckRun.objects.filter(status="queued").values_list("definition_id", flat=True))
    assert queued == set(check_keys())


def test_the_local_settings_never_make_the_project_folder_a_check_root(tmp_path):
    import json
    import os
    import subprocess
    import sys

    from django.conf import settings

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "mlsec_portal.settings.local", "MLSEC_VAR_DIR": str(tmp_path)}
    env.pop("MLSEC_CHECK_ROOTS", None)
    script = "import json; from django.conf import settings as s; print(json.dumps(s.MLSEC_CHECK_ROOTS))"
    roots = json.loads(subprocess.run([sys.executable, "-c", script], env=env, cwd=settings.BASE_DIR, check=True,
                                      capture_output=True, text=True).stdout)
    base = os.path.realpath(settings.BASE_DIR)
    assert roots == [os.path.join(base, "check-targets")]
    for root in roots:
        assert os.path.commonpath([os.path.realpath(root), base]) != os.path.realpath(root)  # never above BASE_DIR


def test_the_demo_keeps_evidence_and_history(demo):
    statuses = Counter(Evidence.objects.values_list("status", flat=True))
    assert statuses["accepted"] > statuses["pending"] > 0
    assert Evidence.objects.filter(valid_until__lt=timezone.localdate()).exists()  # some evidence is stale
    assert ScoreSnapshot.objects.values("day").distinct().count() == 3


def test_the_portal_assesses_itself_honestly(demo):
    portal = Project.objects.get(slug="mlsec-portal", team__slug="platform-security")
    assessment = portal.assessments.get(status="approved")
    answers = {a.practice.code: a for a in Answer.objects.filter(assessment=assessment).select_related("practice")}
    assert len(answers) == 25 and all(a.is_answered for a in answers.values())
    for code, (level, text) in SELF_ASSESSMENT.items():
        answer = answers[code]
        if level is None:
            assert answer.not_applicable and answer.justification == text
        else:
            assert answer.level == level and answer.notes == text
    assert answers["MLS-08"].level == 1  # no penetration test yet, and it says so
    assert portal.check_targets["dependency_files"][0].endswith("requirements.txt")


def test_a_benchmark_sized_organisation(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("seed_demo", teams=20, projects=200, history_days=1)
    assert Project.objects.count() == 200
    assert 5000 < Answer.objects.count() < 9000
    assert not CheckRun.objects.exists()  # benchmark organisations get no check targets
