"""The project's check endpoints (moved from the projects viewset to checks' own): OPTIONS describes them
and an unknown project is a 404, never a 500 (found by the schema fuzzer after the move)."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["run-checks", "artifact-baseline"])
def test_options_and_an_unknown_project_answer_without_a_server_error(org, api, path):
    client = api(org.lead)
    assert client.options(f"/api/v1/projects/{org.project.pk}/{path}/").status_code == 200
    assert client.options(f"/api/v1/projects/0/{path}/").status_code in (200, 404)
    assert client.post(f"/api/v1/projects/0/{path}/", {}, format="json").status_code == 404
    assert client.post(f"/api/v1/projects/{org.other_project.pk}/{path}/", {}, format="json").status_code == 404
