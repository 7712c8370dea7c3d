"""Take the README's screenshots from a running demo (`make demo`, then `make screenshots`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

BASE = os.environ.get("MLSEC_URL", "http://127.0.0.1:8000")
PASSWORD = "mlsec-demo-2026"  # noqa: S105 - the printed demo password  # pragma: allowlist secret
OUT = Path(__file__).resolve().parent.parent / "docs" / "img"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def sign_in(page, username: str) -> None:
    page.goto(f"{BASE}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def shoot(page, path: str, name: str, *, wait_for: str | None = None, full_page: bool = False, clip_height=None) -> None:
    page.goto(f"{BASE}{path}")
    page.wait_for_load_state("networkidle")
    if wait_for:
        page.wait_for_selector(wait_for)
    page.wait_for_timeout(600)
    options = {"path": str(OUT / name), "full_page": full_page}
    if clip_height:
        options["clip"] = {"x": 0, "y": 0, "width": page.viewport_size["width"], "height": clip_height}
        options["full_page"] = True
    page.screenshot(**options)
    print("wrote", OUT / name)


def main(only: list[str]) -> int:
    """Every screenshot, or only those named (e.g. `scripts/screenshots.py framework`)."""
    OUT.mkdir(parents=True, exist_ok=True)
    wanted = set(only) or {"dashboard", "team", "assessment-form", "framework"}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=os.environ.get("MLSEC_CHROMIUM", "/usr/bin/chromium"), args=ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        sign_in(page, "officer")
        if "dashboard" in wanted:
            shoot(page, "/dashboard/", "dashboard.png", wait_for="#trend svg.main-svg", clip_height=1250)
        if "team" in wanted:
            shoot(page, "/teams/fraud-detection/", "team.png", wait_for="#polar svg.main-svg", clip_height=1050)
        if "framework" in wanted:
            shoot(page, "/frameworks/nist-ai-rmf/?team=fraud-detection", "framework.png", wait_for="table.requirements",
                  clip_height=1400)
        if "assessment-form" in wanted:
            page.context.clear_cookies()
            sign_in(page, "lead")
            link = page.locator("a:has-text('Continue')").first.get_attribute("href")
            shoot(page, link, "assessment-form.png", clip_height=1100)
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
