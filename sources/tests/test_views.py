"""The project page's sources and assets, and the forms to add, edit, test and remove a source."""

import pytest

from sources import services
from sources.models import Asset, AssetVersion, Source

SECRET = "page-" + "Kx7" * 12  # pragma: allowlist secret


def test_the_lead_adds_edits_and_removes_a_source_through_the_pages(org, client):
    client.force_login(org.lead)
    created = client.post(f"/projects/{org.project.pk}/sources/new/", {
        "kind": "git", "name": "repo", "url": "https://git.example.com/fraud.git", "ref": "main", "token": SECRET})
    assert created.status_code == 302
    source = Source.objects.get(project=org.project)
    assert source.has_credential and source.config == {"url": "https://git.example.com/fraud.git", "ref": "main"}
    form = client.get(f"/projects/{org.project.pk}/sources/{source.pk}/edit/")
    assert form.status_code == 200 and SECRET not in form.content.decode()
    edited = client.post(f"/projects/{org.project.pk}/sources/{source.pk}/edit/", {
        "kind": "git", "name": "repo", "url": "https://git.example.com/fraud.git", "ref": "v2"})
    assert edited.status_code == 302
    source.refresh_from_db()
    assert source.config["ref"] == "v2" and source.has_credential  # an empty credential field keeps it
    page = client.get(f"/projects/{org.project.pk}/").content.decode()
    assert "https://git.example.com/fraud.git@v2" in page and "Test connection" in page and SECRET not in page
    assert client.post(f"/projects/{org.project.pk}/sources/{source.pk}/delete/").status_code == 302
    assert not Source.objects.exists()


def test_a_bad_source_is_a_form_error_and_saves_nothing(org, client):
    client.force_login(org.lead)
    answer = client.post(f"/projects/{org.project.pk}/sources/new/", {"kind": "git", "name": "x",
                                                                      "url": "file:///etc"})
    assert answer.status_code == 200 and "administrator" in answer.content.decode()
    assert not Source.objects.exists()


@pytest.mark.parametrize(("role", "status"), [("member", 403), ("auditor", 403), ("other_lead", 404)])
def test_only_the_lead_an_officer_or_an_administrator_may_change_sources(org, client, role, status):
    source = services.source_create(actor=org.lead, project=org.project, kind="endpoint", name="api",
                                    config={"url": "https://api.example.com"})
    client.force_login(getattr(org, role))
    assert client.get(f"/projects/{org.project.pk}/sources/new/").status_code == status
    assert client.post(f"/projects/{org.project.pk}/sources/{source.pk}/delete/").status_code == status
    assert Source.objects.filter(pk=source.pk).exists()


def test_the_page_lists_models_with_their_versions_and_verdicts(org, client):
    source = services.source_create(actor=org.lead, project=org.project, kind="mlflow", name="registry",
                                    config={"tracking_uri": "https://mlflow.example.com", "models": ["fraud"]})
    asset = Asset.objects.create(project=org.project, source=source, kind="model", name="fraud")
    AssetVersion.objects.create(asset=asset, version="3", revision={"model": "fraud", "version": "3"},
                                format="pickle", verdicts={"model-serialization": {"status": "failed", "run": None}})
    client.force_login(org.member)
    page = client.get(f"/projects/{org.project.pk}/").content.decode()
    assert "Models and datasets" in page and "model-serialization: failed" in page and "Sync now" in page
    assert "Add a source" not in page  # a member reads, the lead changes
