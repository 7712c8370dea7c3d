"""Uploads: markup is refused wherever it starts, and a stored file downloads with its type's extension."""

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.models import AuditEvent
from evidence import storage
from evidence.markup import find_markup
from evidence.models import Evidence
from evidence.tests.test_vault import PDF, media_files, upload

MARKUP = {
    "html after a byte-order mark": b"\xef\xbb\xbf<!DOCTYPE html><html><body><script>steal()</script></body></html>",
    "script after an html comment": b"<!-- quarterly report -->\n<script>fetch('/api/v1/users/')</script>",
    "img onerror after text": b"Pen-test summary\n\nAll findings closed.\n<img src=x onerror=alert(document.cookie)>",
    "svg after an xml prolog and blank lines": b"\n\n  <?xml version='1.0'?>\n<svg xmlns='http://www.w3.org/2000/svg'"
                                               b" onload='alert(1)'/>",
    "svg with a slash before the handler": b"chart data\n<svg/onload=alert(1)>",
    "namespaced xhtml script": b"<?xml version='1.0'?><x:script xmlns:x='http://www.w3.org/1999/xhtml'>alert(1)"
                               b"</x:script>",
    "custom element with a handler": b"notes\n<x-note tabindex=1 autofocus onfocus=alert(1)>read me</x-note>",
    "handler after a quoted greater-than": b'<note title="a>b" onfocus=alert(1)>x</note>',
    "iframe in a csv cell": b"id,comment\n1,ok\n2,<iframe src=//evil.example></iframe>\n",
    "img onerror inside json": json.dumps({"finding": "<img src=x onerror=alert(1)>"}).encode(),
    "doctype after a page of text": b"x" * 5000 + b"\n<!doctype html><p>late</p>",
    "xml stylesheet": b"<?xml version='1.0'?><?xml-stylesheet type='text/xsl' href='run.xsl'?><data/>",
    "mathml": b"<math><maction actiontype='statusline' xlink:href='javascript:alert(1)'>x</maction></math>",
}


@pytest.mark.parametrize("case", sorted(MARKUP))
def test_markup_is_refused_wherever_it_starts(org, api, settings, case):
    response = upload(api(org.lead), org.project, name="findings.txt", data=MARKUP[case])
    assert response.status_code == 400, (case, response.data)
    message = " ".join(response.data["file"] if "file" in response.data else map(str, response.data.values()))
    assert "markup" in message.lower() and "Line " in message, message
    assert Evidence.objects.count() == 0 and media_files(settings) == []
    assert not AuditEvent.objects.filter(action="evidence.add").exists()


def test_markup_is_refused_through_the_page_with_a_form_error(org, client, settings):
    client.force_login(org.lead)
    response = client.post(f"/projects/{org.project.pk}/evidence/new/?practice=MLS-08", {
        "kind": "file", "title": "Report", "practice": "MLS-08",
        "file": SimpleUploadedFile("report.txt", MARKUP["html after a byte-order mark"]), "valid_until": ""})
    assert response.status_code == 200
    assert "Markup is not accepted as evidence" in response.content.decode()
    assert Evidence.objects.count() == 0 and media_files(settings) == []


@pytest.mark.parametrize("text", [
    b"if a < b and c > d: print('fine')\n",
    b"for (i = 0; i<n; i++) { total += x[i]; }\n",
    b"<!-- a comment on its own runs nothing -->\nplain notes\n",
    b"<?xml version='1.0'?><testsuite name='scan'><testcase name='pickle'/></testsuite>\n",
    b"\xef\xbb\xbfid,score\n1,0.93\n2,0.71\n",
])
def test_text_with_angle_brackets_that_is_not_markup_is_accepted(org, api, text):
    response = upload(api(org.lead), org.project, name="notes.txt", data=text)
    assert response.status_code == 201, response.data


def test_the_markup_scan_stays_linear_on_hostile_input():
    # 4 million tag-like tokens, and one tag whose attribute list never ends: both answer, neither matches.
    assert find_markup("<x " * 1_000_000) is None
    assert find_markup("<x title='" + "a" * 5_000_000) is None
    assert find_markup("<x " * 1_000_000 + "<img src=x>").line == 1


def test_an_html_named_text_file_is_stored_and_downloads_as_txt_never_as_html(org, api, client):
    response = upload(api(org.lead), org.project, name="report.html", data=b"Plain findings, no markup.\n")
    assert response.status_code == 201, response.data
    assert response.data["content_type"] == "text/plain" and response.data["original_name"] == "report.html.txt"
    download = api(org.auditor).get(f"/api/v1/evidence/{response.data['id']}/download/")
    assert download["Content-Disposition"].startswith('attachment; filename="report.html.txt"')
    client.force_login(org.member)
    page = client.get(f"/evidence/{response.data['id']}/download/")
    assert 'filename="report.html.txt"' in page["Content-Disposition"]


@pytest.mark.parametrize(("name", "data", "stored"), [
    ("scan.JPEG", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64, "scan.JPEG"),
    ("report.pdf", PDF, "report.pdf"),
    ("report.exe", PDF, "report.exe.pdf"),
    ("data.json", b'{"a": 1}', "data.json"),
    ("data.csv.html", b"id,score\n1,2\n3,4\n", "data.csv.html.csv"),
    ("README", b"Just text.\n", "README.txt"),
])
def test_the_stored_name_keeps_an_extension_only_when_it_matches_the_detected_type(org, api, name, data, stored):
    response = upload(api(org.lead), org.project, name=name, data=data)
    assert response.status_code == 201, response.data
    assert response.data["original_name"] == stored


def test_a_file_stored_before_names_followed_types_still_downloads_and_exports_with_its_types_extension(
        org, api, django_capture_on_commit_callbacks):
    """Rows written by the old code (name `notes.html`, type text/plain) are corrected on the way out."""
    from reports import services as report_services
    from reports.models import Report

    evidence_id = upload(api(org.lead), org.project, name="notes.txt", data=b"legacy text\n").data["id"]
    Evidence.objects.filter(pk=evidence_id).update(original_name="notes.html")
    download = api(org.auditor).get(f"/api/v1/evidence/{evidence_id}/download/")
    assert download.status_code == 200 and 'filename="notes.html.txt"' in download["Content-Disposition"]
    with django_capture_on_commit_callbacks(execute=True):
        report = report_services.report_request(actor=org.auditor, scope="project", project=org.project, format="zip")
    report = Report.objects.get(pk=report.pk)
    assert report.status == "ready", report.error
    data = b"".join(storage.iter_decrypted(report.storage_name))
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert f"evidence/{evidence_id}-notes.html.txt" in names, names
    assert not any(Path(n).suffix == ".html" for n in names)
