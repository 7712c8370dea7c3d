"""endpoint-authentication against local HTTP(S) servers."""

from __future__ import annotations

import datetime as dt

from checks.runners import run_check

from .conftest import make_ctx, make_leaf

KEY = "endpoint-authentication"
NOW = dt.datetime.now(dt.UTC)


def check(tmp_path, url, ca_bundle=None):
    return run_check(KEY, make_ctx(tmp_path, endpoint_url=url, ca_bundle=ca_bundle, timeout_s=5))


def test_401_passes_and_request_carries_no_credentials(tmp_path, serve):
    server = serve(status=401)
    result = check(tmp_path, f"http://127.0.0.1:{server.port}/v1/predict?x=1")
    assert result.status == "passed", result.summary
    assert [m for m, _ in server.seen] == ["GET", "HEAD"]
    for _, headers in server.seen:
        lowered = {k.lower(): v for k, v in headers.items()}
        assert "authorization" not in lowered and "cookie" not in lowered
        assert lowered["user-agent"] == "MLSecPortal-check/1"


def test_403_passes(tmp_path, serve):
    assert check(tmp_path, f"http://127.0.0.1:{serve(status=403).port}").status == "passed"


def test_200_fails(tmp_path, serve):
    result = check(tmp_path, f"http://127.0.0.1:{serve(status=200).port}")
    assert result.status == "failed"
    assert result.summary.startswith("endpoint answers unauthenticated requests")


def test_head_only_open_fails(tmp_path, serve):
    server = serve(per_method={"GET": 401, "HEAD": 200})
    result = check(tmp_path, f"http://127.0.0.1:{server.port}")
    assert result.status == "failed" and "HEAD" in result.summary


def test_405_on_get_and_401_on_head_passes(tmp_path, serve):
    server = serve(per_method={"GET": 405, "HEAD": 401})
    assert check(tmp_path, f"http://127.0.0.1:{server.port}").status == "passed"


def test_both_404_is_error(tmp_path, serve):
    assert check(tmp_path, f"http://127.0.0.1:{serve(status=404).port}").status == "error"


def test_500_is_error(tmp_path, serve):
    result = check(tmp_path, f"http://127.0.0.1:{serve(status=500).port}")
    assert result.status == "error"


def test_redirect_to_login_passes_and_reports_host_only(tmp_path, serve):
    server = serve(status=302, headers={"Location": "https://sso.example.com/login?next=/x&token=abc123"})
    result = check(tmp_path, f"http://127.0.0.1:{server.port}/")
    assert result.status == "passed"
    assert result.data["get"]["redirect_host"] == "sso.example.com"
    text = repr(result.as_dict())
    assert "token" not in text and "abc123" not in text and "/login" not in text


def test_redirect_to_local_login_passes(tmp_path, serve):
    server = serve(status=303, headers={"Location": "/accounts/login/?next=/predict"})
    assert check(tmp_path, f"http://127.0.0.1:{server.port}/predict").status == "passed"


def test_redirect_without_location_or_not_to_a_login_is_error(tmp_path, serve):
    assert check(tmp_path, f"http://127.0.0.1:{serve(status=302).port}/").status == "error"
    slash = serve(status=307, headers={"Location": "/predict/"})
    assert check(tmp_path, f"http://127.0.0.1:{slash.port}/predict").status == "error"
    upgrade = serve(status=301, headers={"Location": "https://127.0.0.1/predict"})
    assert check(tmp_path, f"http://127.0.0.1:{upgrade.port}/predict").status == "error"


def test_closed_port_is_error(tmp_path, closed_port):
    result = check(tmp_path, f"http://127.0.0.1:{closed_port}/")
    assert result.status == "error" and "unreachable" in result.summary


def test_https_with_bundle_and_untrusted_certificate(tmp_path, serve, ca):
    authority, bundle = ca
    trusted = serve(status=401, tls=make_leaf(authority, NOW - dt.timedelta(days=1), NOW + dt.timedelta(days=30)))
    assert check(tmp_path, f"https://127.0.0.1:{trusted.port}/", bundle).status == "passed"
    selfsigned = serve(status=200, tls=make_leaf(None, NOW - dt.timedelta(days=1), NOW + dt.timedelta(days=30)))
    result = check(tmp_path, f"https://127.0.0.1:{selfsigned.port}/", bundle)
    assert result.status == "error" and "endpoint-transport" in result.summary
