"""Controls docs/security.md states that no other test held: weak passwords are refused, a form posted
without its CSRF token changes nothing, exports are encrypted at rest like evidence, and every
runtime dependency is pinned to one exact version."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client

from assessments.models import Project
from reports import services
from reports.models import Report

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("password", ["short-pw-1", "password1234", "123456789012"])  # pragma: allowlist secret
def test_a_password_shorter_than_12_characters_common_or_all_digits_is_refused(org, password):
    with pytest.raises(ValidationError):
        validate_password(password, user=org.lead)


def test_a_long_uncommon_password_is_accepted(org):
    validate_password("plaid-otter-harbour-71", user=org.lead)  # pragma: allowlist secret


def test_a_password_change_through_the_api_refuses_a_weak_password(org, api):
    response = api(org.admin).post("/api/v1/users/", {"username": "newcomer", "email": "n@example.org",
                                                        "password": "password1234"}, format="json")  # pragma: allowlist secret
    assert response.status_code == 400
    assert not type(org.lead).objects.filter(username="newcomer").exists()


def test_a_form_posted_without_its_csrf_token_is_refused_and_changes_nothing(org):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(org.lead)
    response = browser.post(f"/projects/{org.project.pk}/edit/", {"name": "Renamed", "slug": org.project.slug,
                                                                  "risk_tier": "critical"})
    assert response.status_code == 403 and b"CSRF" in response.content
    assert Project.objects.get(pk=org.project.pk).name == org.project.name
    signed_out = Client(enforce_csrf_checks=True)
    assert signed_out.post("/accounts/login/", {"username": "lead", "password": "x"}).status_code == 403


def test_an_export_is_stored_encrypted_and_readable_by_its_owner_only(org, settings, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report = services.report_request(actor=org.officer, scope="org", format="csv")
    report = Report.objects.get(pk=report.pk)
    assert report.status == "ready", report.error
    files = [p for p in Path(settings.MEDIA_ROOT, "reports").rglob("*") if p.is_file()]
    assert len(files) == 1
    stored = files[0].read_bytes()
    assert stored[4:10] == b"gAAAAA"  # 1 MiB frames, each a length and a Fernet token (evidence/storage.py)
    assert org.project.name.encode() not in stored and b"MLS-01" not in stored
    assert oct(files[0].stat().st_mode & 0o777) == "0o600"


def test_every_runtime_dependency_is_pinned_to_one_exact_version():
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (ROOT / name).read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if not line or line.startswith("-r"):
                continue
            assert re.fullmatch(r"[A-Za-z0-9_.\-\[\],]+==[A-Za-z0-9_.+\-]+(\s*;.*)?", line), f"{name}: {line}"
