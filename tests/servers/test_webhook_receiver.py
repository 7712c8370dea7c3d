"""The webhook receiver is a real HTTP server that records requests and fails or stalls on demand."""

from __future__ import annotations

import hashlib
import hmac

import pytest
import requests


def test_a_post_is_recorded_with_its_method_path_headers_and_body(webhook_receiver):
    body = b'{"event": "check.failed", "project": "card-fraud"}'
    signature = hmac.new(b"shared-secret", body, hashlib.sha256).hexdigest()

    response = requests.post(webhook_receiver.url("/hooks/generic?team=fraud"), data=body, timeout=10,
                             headers={"Content-Type": "application/json", "X-MLSec-Signature": signature})

    assert response.status_code == 200
    [hit] = webhook_receiver.wait_for(1)
    assert (hit.method, hit.path, hit.query) == ("POST", "/hooks/generic", {"team": ["fraud"]})
    assert hit.headers["content-type"] == "application/json"
    assert hmac.compare_digest(hit.headers["X-MLSec-Signature"],
                               hmac.new(b"shared-secret", hit.body, hashlib.sha256).hexdigest())
    assert hit.json() == {"event": "check.failed", "project": "card-fraud"}
    assert hit.status == 200


def test_the_next_requests_fail_as_asked_and_then_succeed(webhook_receiver):
    webhook_receiver.fail_next(2, status=503)

    statuses = [requests.post(webhook_receiver.url("/h"), json={"n": n}, timeout=10).status_code for n in range(3)]

    assert statuses == [503, 503, 200]
    assert [hit.status for hit in webhook_receiver.requests] == [503, 503, 200]
    assert [hit.json()["n"] for hit in webhook_receiver.requests] == [0, 1, 2]


def test_a_stalled_answer_makes_the_client_time_out(webhook_receiver):
    webhook_receiver.delay_next(1, seconds=1.0)

    with pytest.raises(requests.Timeout):
        requests.post(webhook_receiver.url("/slow"), data=b"x", timeout=0.3)
    assert requests.post(webhook_receiver.url("/fast"), data=b"y", timeout=5).status_code == 200


def test_a_permanent_answer_holds_until_the_next_test(webhook_receiver):
    webhook_receiver.respond_with(410, b"gone")
    assert requests.get(webhook_receiver.url("/a"), timeout=5).status_code == 410
    assert requests.get(webhook_receiver.url("/b"), timeout=5).text == "gone"


def test_each_test_starts_with_an_empty_receiver_that_answers_200(webhook_receiver):
    assert webhook_receiver.requests == []
    assert requests.get(webhook_receiver.url("/"), timeout=5).status_code == 200


def test_a_chunked_body_is_recorded_whole_and_an_oversized_one_is_refused(webhook_receiver):
    response = requests.post(webhook_receiver.url("/chunked"), data=iter([b'{"a": ', b"1}"]), timeout=10)

    assert response.status_code == 200
    assert webhook_receiver.wait_for(1)[0].json() == {"a": 1}
    too_big = requests.post(webhook_receiver.url("/big"), data=b"x" * (10 * 1024 * 1024 + 1), timeout=30)
    assert too_big.status_code == 413
