# Chromium for the browser smoke test of the OpenID Provider: the same fixtures as tests/browser.
from tests.browser.conftest import browser, watched_page  # noqa: F401
