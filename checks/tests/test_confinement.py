"""Each project reads only its own team's files, and no check ever reads the portal's own.

Real directories under the session's check root (`<root>/<team-slug>/`), real symbolic links,
real runs through the services (and so through the sandbox).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from checks import services


def run(project, key):
    (queued,) = services.queue_runs(project=project, keys=[key])
    return services.run_now(queued)


@pytest.fixture
def other_teams_model(org, team_dir):
    """A model of the Recommendations team, in its own directory."""
    files = team_dir(org.other_team)
    (files / "ranker.safetensors").write_bytes(b"the other team's weights")
    return files / "ranker.safetensors"


def test_a_lead_pointing_targets_at_the_shared_root_gets_a_400_naming_the_teams_directory(org, api, settings,
                                                                                         other_teams_model):
    root = settings.MLSEC_CHECK_ROOTS[0]
    client = api(org.lead)
    for targets in ({"model_artifacts": [f"{root}/**"]}, {"datasets": [f"{other_teams_model.parent}/*.csv"]},
                    {"source_path": root}, {"dependency_files": [f"{root}/recs/requirements.txt"]}):
        response = client.patch(f"/api/v1/projects/{org.project.pk}/", {"check_targets": targets}, format="json")
        assert response.status_code == 400, targets
        (message,) = response.data["check_targets"]
        assert "outside the check directory of the team Fraud detection" in message
        assert f"{root}/fraud/" in message
    org.project.refresh_from_db()
    assert org.project.check_targets == {}


def test_a_lead_may_point_targets_anywhere_inside_its_teams_directory(org, api, team_dir):
    files = team_dir(org.team)
    targets = {"source_path": str(files), "model_artifacts": [f"{files}/**/*.pt"], "datasets": [f"{files}/data"]}
    response = api(org.lead).patch(f"/api/v1/projects/{org.project.pk}/", {"check_targets": targets}, format="json")
    assert response.status_code == 200 and response.data["check_targets"] == targets


def test_the_project_form_shows_the_refusal(org, client, settings):
    client.force_login(org.lead)
    response = client.post(f"/projects/{org.project.pk}/edit/", {
        "name": "Card fraud scorer", "risk_tier": "high", "lifecycle": "production", "data_classification": "internal",
        "model_artifacts": f"{settings.MLSEC_CHECK_ROOTS[0]}/**", "source_path": "", "endpoint_url": "",
    })
    assert response.status_code == 200
    assert "outside the check directory of the team Fraud detection" in response.content.decode()


def test_a_symbolic_link_out_of_the_teams_directory_is_refused_when_saved(org, team_dir, other_teams_model):
    from checks.confinement import check_targets_validate

    files = team_dir(org.team)
    (files / "shared").symlink_to(other_teams_model.parent)
    with pytest.raises(ValidationError) as refused:
        check_targets_validate(team=org.team, targets={"model_artifacts": [f"{files}/shared/*"]})
    assert f"resolves to {other_teams_model.parent}" in refused.value.message_dict["check_targets"][0]


def test_a_symbolic_link_made_after_saving_is_refused_when_the_check_runs(org, team_dir, other_teams_model):
    files = team_dir(org.team)
    (files / "models").mkdir()
    org.project.check_targets = {"model_artifacts": [f"{files}/models/*"]}
    org.project.full_clean()
    org.project.save()
    (files / "models" / "model.safetensors").symlink_to(other_teams_model)  # swapped in after validation
    result = run(org.project, "model-integrity")
    assert result.status == "error"
    assert any(f["title"] == "outside the allowed check roots" for f in result.findings)
    digest = __import__("hashlib").sha256(other_teams_model.read_bytes()).hexdigest()
    assert digest not in json.dumps([result.findings, result.data, result.summary])


def test_targets_stored_before_confinement_read_nothing_of_another_team(org, settings, other_teams_model):
    root = settings.MLSEC_CHECK_ROOTS[0]
    org.project.check_targets = {"model_artifacts": [f"{root}/**"]}
    org.project.save(update_fields=["check_targets"])  # as an old row would be: never validated
    result = run(org.project, "model-integrity")
    assert result.status == "error"
    assert "ranker.safetensors" not in json.dumps(result.data)


def test_the_portals_own_files_are_never_read_even_when_the_project_folder_is_a_root(org, settings):
    from checks.confinement import check_targets_validate, team_check_roots

    settings.MLSEC_CHECK_ROOTS = [str(settings.BASE_DIR)]
    secret_key = Path(settings.VAR_DIR) / "test-secret-key.txt"
    secret_key.parent.mkdir(exist_ok=True)
    secret_key.write_text("portal-key-that-must-never-leave-the-portal-0123456789abcdef\n")
    try:
        assert team_check_roots(org.team) == []  # a root that holds var/ is not used at all
        with pytest.raises(ValidationError, match="part of the portal's own files"):
            check_targets_validate(team=org.team, targets={"dependency_files": [str(secret_key)]})
        org.project.check_targets = {"dependency_files": [str(secret_key)]}
        org.project.save(update_fields=["check_targets"])
        call_command("import_advisories", str(Path(settings.BASE_DIR) / "checks" / "demo_advisories"))
        result = run(org.project, "dependency-vulnerabilities")
        assert result.status == "error"
        assert "portal-key" not in json.dumps([result.summary, result.findings, result.data])
    finally:
        secret_key.unlink()


def test_a_team_directory_that_holds_the_portals_files_is_not_used(org, settings, team_dir):
    from checks.confinement import check_targets_validate, team_check_roots

    files = team_dir(org.team)
    settings.MEDIA_ROOT = str(files / "media")  # a careless deployment: the media root inside a check root
    assert str(files.parent) not in team_check_roots(org.team)
    with pytest.raises(ValidationError):
        check_targets_validate(team=org.team, targets={"source_path": str(files)})


@pytest.mark.parametrize("name", ["var", "media", "secrets", "signing key", "database", "ssh"])
def test_protected_paths_cover_keys_media_database_and_credentials(settings, tmp_path, name):
    from checks.confinement import protected_paths

    key_file = tmp_path / "signing.pem"
    settings.MLSEC_SIGNING_KEY = str(key_file)
    settings.MEDIA_ROOT = str(tmp_path / "media")
    if name == "database":
        # An embedded SQLite file is a path a check could read; a PostgreSQL database is not.
        settings.DATABASES = {**settings.DATABASES, "extra": {"ENGINE": "django.db.backends.sqlite3",
                                                             "NAME": str(tmp_path / "portal.sqlite3")}}
    expected = {
        "var": settings.VAR_DIR, "media": tmp_path / "media", "secrets": Path(settings.BASE_DIR) / "secrets",
        "signing key": key_file, "database": tmp_path / "portal.sqlite3",
        "ssh": Path(os.path.expanduser("~/.ssh")),
    }[name]
    assert os.path.realpath(str(expected)) in protected_paths()


def test_a_path_inside_the_team_directory_but_inside_the_portals_files_is_refused(org, settings, team_dir):
    from checks.confinement import team_path_resolve

    files = team_dir(org.team)
    settings.MLSEC_CHECK_PROTECTED_PATHS = [str(files / "keys")]
    with pytest.raises(ValidationError, match="portal's own files"):
        team_path_resolve(org.team, str(files / "keys" / "id_rsa"))


def test_an_administrator_assigned_root_serves_that_team_only(org, tmp_path):
    from checks.confinement import team_check_roots, team_path_resolve
    from checks.models import TeamCheckRoot

    assigned = tmp_path / "fraud-models"
    assigned.mkdir()
    root = TeamCheckRoot(team=org.team, path=str(assigned), note="model registry mount")
    root.full_clean()
    root.save()
    assert str(assigned) in team_check_roots(org.team)
    assert team_path_resolve(org.team, str(assigned / "v3" / "model.pt")) == str(assigned / "v3" / "model.pt")
    with pytest.raises(ValidationError):
        team_path_resolve(org.other_team, str(assigned / "v3" / "model.pt"))
    overlapping = TeamCheckRoot(team=org.other_team, path=str(assigned / "v3"))
    with pytest.raises(ValidationError, match="overlaps .* assigned to the team Fraud detection"):
        overlapping.full_clean()


def test_an_assigned_root_cannot_contain_the_shared_root_or_the_portal(org, settings):
    from checks.models import TeamCheckRoot

    shared = Path(settings.MLSEC_CHECK_ROOTS[0])
    for path in (str(shared.parent), str(shared), str(shared / "recs"), str(settings.BASE_DIR), "/", "relative"):
        with pytest.raises(ValidationError):
            TeamCheckRoot(team=org.team, path=path).full_clean()


def test_an_unusable_check_root_is_named_by_the_system_checks(settings):
    from django.core import checks as django_checks

    settings.MLSEC_CHECK_ROOTS = [str(settings.BASE_DIR)]
    settings.MLSEC_CHECK_ALLOWED_NETWORKS = ["10.0.0.0/8", "not-a-network"]
    messages = {m.id: m.msg for m in django_checks.run_checks(tags=["mlsec"])}
    assert "contains the portal's own folder" in messages["mlsec.W001"]
    assert "not-a-network" in messages["mlsec.E001"]
