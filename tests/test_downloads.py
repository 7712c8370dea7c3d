"""Every download leaves the portal as an inert attachment, whatever its stored name."""

from django.http import HttpResponse

from mlsec_portal.downloads import harden_download


def test_a_download_is_an_attachment_no_browser_renders():
    response = harden_download(HttpResponse(b"abc"), "model card é.pdf", 3)
    assert response["Content-Disposition"] == (
        "attachment; filename=\"model card ?.pdf\"; filename*=UTF-8''model%20card%20%C3%A9.pdf".replace("?", "_"))
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert response["Cache-Control"] == "private, no-store" and response["Content-Length"] == "3"


def test_quotes_and_line_breaks_cannot_escape_the_header():
    response = harden_download(HttpResponse(b""), 'a"b\r\nSet-Cookie: x=1', 0)
    disposition = response["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition
    assert disposition.startswith('attachment; filename="a_bSet-Cookie: x=1";')
    assert not response.has_header("Set-Cookie")
    assert harden_download(HttpResponse(b""), "\x00\x1f", 0)["Content-Disposition"].startswith('attachment; filename="download"')
