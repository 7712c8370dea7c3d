"""Adding an export format is one class (docs/exports.md, "Adding an export format").

The two formats below exist only in this module: a fixture registers them and removes them again.
Through the API, the page, the build task and the download they behave like the built-in formats,
and the one that declares a `bundle_name` is inside the signed bundle. Nothing outside this module
knows their keys.
"""

from __future__ import annotations

import zipfile

import pytest
from django.urls import reverse

from reports.bundle import verify_bundle
from reports.models import Report
from reports.renderers.registry import ExportFormat, format_keys, get_format, register, unregister
from reports.tests.test_exports import download, export


class ProjectList(ExportFormat):
    """A Markdown list of the scope's projects, in the bundle as `project-list.md`."""

    key, label = "test-md", "Project list (Markdown, test-only)"
    content_type, extension, bundle_name = "text/markdown; charset=utf-8", "projects.md", "project-list.md"

    def render(self, dataset, out, **_):
        out.write(f"# {dataset['scope']['label']} as of {dataset['as_of']}\n".encode())
        for project in dataset["projects"]:
            out.write(f"- {project['name']} ({project['team']})\n".encode())


class TeamCount(ExportFormat):
    """Built on its own only (no `bundle_name`), and only for one project."""

    key, label = "test-count", "Team count (test-only)"
    content_type, extension, project_only = "text/plain; charset=utf-8", "count.txt", True

    def render(self, dataset, out, **_):
        out.write(f"{len(dataset['teams'])}\n".encode())


@pytest.fixture
def plugins():
    for fmt in (ProjectList, TeamCount):
        register(fmt)
    yield
    for fmt in (ProjectList, TeamCount):
        unregister(fmt.key)


def test_a_plugin_format_is_built_and_downloaded_like_any_other(plugins, org, api, django_capture_on_commit_callbacks):
    report = export(api, org.lead, django_capture_on_commit_callbacks, scope="team", team="fraud", format="test-md")
    assert report.filename.endswith(".projects.md") and report.content_type == "text/markdown; charset=utf-8"
    assert report.get_format_display() == "Project list (Markdown, test-only)"
    text = download(api, org.lead, report).decode()
    assert text.startswith("# Fraud detection as of ") and "- Card fraud scorer (fraud)" in text
    assert "Home feed ranker" not in text  # the other team's project: out of the scope
    response = api(org.lead).get(f"/api/v1/reports/{report.pk}/download/")
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert api(org.lead).get(f"/api/v1/reports/{report.pk}/").data["format"] == "test-md"


def test_a_plugin_format_that_declares_a_bundle_name_is_in_the_signed_bundle(plugins, org, api, tmp_path,
                                                                              django_capture_on_commit_callbacks):
    alone = export(api, org.lead, django_capture_on_commit_callbacks, scope="team", team="fraud", format="test-md")
    bundle = export(api, org.lead, django_capture_on_commit_callbacks, scope="team", team="fraud", format="zip")
    path = tmp_path / "bundle.zip"
    path.write_bytes(download(api, org.lead, bundle))
    assert verify_bundle(path).ok
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        member = zf.read("project-list.md").decode()
    assert "project-list.md" in names and names.index("report.pdf") < names.index("project-list.md")
    assert not any(name.endswith("count.txt") for name in names)  # no bundle_name: not in the bundle
    assert member.splitlines()[1:] == download(api, org.lead, alone).decode().splitlines()[1:]


def test_a_plugin_format_is_offered_by_the_page_and_the_api(plugins, org, client, api,
                                                            django_capture_on_commit_callbacks):
    client.force_login(org.lead)
    page = client.get(reverse("reports")).content.decode()
    assert 'value="test-md"' in page and "Project list (Markdown, test-only)" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("reports"), {"scope": "team", "team": "fraud", "format": "test-md"})
    assert Report.objects.get(format="test-md").status == "ready"


def test_a_project_only_plugin_format_is_refused_for_a_team(plugins, org, api, django_capture_on_commit_callbacks):
    response = api(org.lead).post("/api/v1/reports/", {"scope": "team", "team": "fraud", "format": "test-count"},
                                  format="json")
    assert response.status_code == 400 and "project scope" in str(response.data)
    report = export(api, org.lead, django_capture_on_commit_callbacks, scope="project", project=org.project.pk,
                    format="test-count")
    assert download(api, org.lead, report) == b"1\n"


def test_a_key_and_a_bundle_name_are_registered_once(plugins):
    class SecondPdf(ExportFormat):
        key, label, content_type, extension = "pdf", "Another PDF", "application/pdf", "pdf"

    class SameMember(ExportFormat):
        key, label, content_type, extension, bundle_name = "test-other", "Other", "text/plain", "txt", "report.pdf"

    with pytest.raises(ValueError, match="already registered"):
        register(SecondPdf)
    with pytest.raises(ValueError, match="already bundled"):
        register(SameMember)
    assert get_format("pdf").__name__ == "PdfReport" and "test-other" not in format_keys()


def test_without_the_plugin_its_format_is_refused(org, api):
    assert "test-md" not in format_keys()
    response = api(org.lead).post("/api/v1/reports/", {"scope": "team", "team": "fraud", "format": "test-md"},
                                  format="json")
    assert response.status_code == 400 and not Report.objects.exists()
