"""The throttles' counts live in the cache: when it cannot be reached the API still answers (no 500),
and the token exchange, whose limit guards passwords, refuses with a 503 instead of going unlimited."""

import pytest
from django.test import override_settings

from accounts.models import APIToken
from accounts.tests.factories import PASSWORD

UNREACHABLE = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0",
                           "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}}}


@pytest.mark.django_db
def test_with_the_cache_down_the_api_answers_and_the_token_exchange_refuses(org, api, caplog):
    before = APIToken.objects.count()
    with override_settings(CACHES=UNREACHABLE):
        assert api(org.officer).get("/api/v1/projects/").status_code == 200
        assert api().get("/api/v1/projects/").status_code in (401, 403)  # anonymous: refused as ever, no 500
        response = api().post("/api/v1/auth/token/", {"username": "lead", "password": PASSWORD}, format="json")
        assert response.status_code == 503 and "unavailable" in response.json()["detail"]
    assert APIToken.objects.count() == before  # no token was issued unthrottled
    assert "throttle counts unavailable (scope user): not enforced" in caplog.text
    assert "throttle counts unavailable (scope token): refusing" in caplog.text
    response = api().post("/api/v1/auth/token/", {"username": "lead", "password": PASSWORD}, format="json")
    assert response.status_code == 200  # counted again once the cache is back
