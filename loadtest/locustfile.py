"""Load test: officers and team leads on the seeded 2,000-project organisation (`make loadtest`).

Officers open the dashboard (and the heatmap it fetches), team pages, the review queue and the scorecard
API; leads open their home page and their assessment form, save drafts, and call the API. Every request must succeed:
anything but the expected status is a failure.
"""

from __future__ import annotations

import os
import random
import re

from locust import FastHttpUser, between, constant_throughput, task

PASSWORD = os.environ.get("LOADTEST_PASSWORD", "mlsec-demo-2026")
LEADS = [name for name in os.environ.get("LOADTEST_LEADS", "lead").split(",") if name]
TEAMS = [slug for slug in os.environ.get("LOADTEST_TEAMS", "fraud-detection").split(",") if slug]
# Think time between a user's requests, seconds (LOADTEST_WAIT="0.5,2.0" by default). With 40 users it
# caps the offered load: 40 / 1.25 s = 32 requests/s at most, however fast the portal answers.
WAIT = tuple(float(x) for x in os.environ.get("LOADTEST_WAIT", "0.5,2.0").split(","))
# LOADTEST_RATE (tasks a second per user) replaces the think time by a fixed pace: 40 users at 1.2 offer
# ~48 tasks (~64 requests) a second whatever the answers' latency, which is how the latency at a given
# load is measured (a think time instead lets a slower portal receive fewer requests).
RATE = float(os.environ.get("LOADTEST_RATE") or 0)
WAIT_TIME = constant_throughput(RATE) if RATE else between(*WAIT)
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def sign_in(user: FastHttpUser, username: str) -> None:
    page = user.client.get("/accounts/login/", name="login form")
    token = CSRF.search(page.text).group(1)
    with user.client.post("/accounts/login/", {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token},
                          name="sign in", catch_response=True, allow_redirects=False) as response:
        if response.status_code != 302:
            response.failure(f"sign-in of {username} answered {response.status_code}")


# FastHttpUser (geventhttpclient) rather than HttpUser (requests): the load generator shares this
# machine's cores with the portal, and it spends a fraction of the CPU per request that requests does.
class Officer(FastHttpUser):
    weight = 2
    wait_time = WAIT_TIME

    def on_start(self):
        self.heatmap_etag = None
        sign_in(self, random.choice(["officer", "auditor"]))

    @task(4)
    def dashboard(self):
        self.client.get("/dashboard/", name="dashboard")
        # The page fetches its heatmap, and a browser revalidates the one it holds: a 304 while unchanged.
        headers = {"If-None-Match": self.heatmap_etag} if self.heatmap_etag else {}
        with self.client.get("/dashboard/heatmap.json", name="dashboard heatmap", headers=headers,
                             catch_response=True) as response:
            if response.status_code == 200:
                self.heatmap_etag = response.headers.get("ETag")
                response.success()
            elif response.status_code == 304:
                response.success()
            else:
                response.failure(f"heatmap answered {response.status_code}")

    @task(3)
    def scorecard_api(self):
        self.client.get("/api/v1/scorecard/", name="API scorecard (organisation)")

    @task(2)
    def team_page(self):
        self.client.get(f"/teams/{random.choice(TEAMS)}/", name="team page")

    @task(1)
    def review_queue(self):
        self.client.get("/review-queue/", name="review queue")

    @task(1)
    def assessments_api(self):
        self.client.get("/api/v1/assessments/?status=submitted&page_size=50", name="API assessments (submitted)")


class Lead(FastHttpUser):
    weight = 3
    wait_time = WAIT_TIME

    def on_start(self):
        self.username = random.choice(LEADS)
        sign_in(self, self.username)
        data = self.client.get("/api/v1/assessments/?page_size=50", name="API assessments (own)").json()
        self.assessments = [a["id"] for a in data["results"]]
        self.editable = [a["id"] for a in data["results"] if a["status"] in ("draft", "returned")]

    @task(3)
    def home(self):
        self.client.get("/", name="home (team scorecards)")

    @task(3)
    def assessment_form(self):
        if self.assessments:
            self.client.get(f"/assessments/{random.choice(self.assessments)}/", name="assessment form")

    @task(1)
    def save_draft(self):
        if not self.editable:
            return
        assessment = random.choice(self.editable)
        page = self.client.get(f"/assessments/{assessment}/", name="assessment form")
        token = CSRF.search(page.text).group(1)
        # Re-post the levels the form shows (a draft save that changes nothing is still a full save).
        levels = dict(re.findall(r'name="(MLS-\d\d-level)" value="(\d)" checked', page.text))
        payload = {"csrfmiddlewaretoken": token, "save": "", **levels}
        with self.client.post(f"/assessments/{assessment}/", payload, name="save draft", catch_response=True,
                              allow_redirects=False) as response:
            if response.status_code not in (200, 302):
                response.failure(f"save answered {response.status_code}")

    @task(2)
    def api(self):
        self.client.get("/api/v1/scorecard/", name="API scorecard (own teams)")
        self.client.get("/api/v1/projects/", name="API projects")
