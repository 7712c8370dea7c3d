"""Tell people when a check starts failing: once per change of state, never on every run."""

from __future__ import annotations

import json
import logging
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q

from accounts.choices import OrgRole, TeamRole
from accounts.models import User

from .models import CheckRun

log = logging.getLogger(__name__)


def recipients(run: CheckRun) -> list[str]:
    """The team's leads and every security officer, with an e-mail address."""
    leads = Q(memberships__team_id=run.project.team_id, memberships__role=TeamRole.LEAD)
    officers = Q(org_role=OrgRole.OFFICER)
    emails = User.objects.filter(is_active=True).exclude(email="").filter(leads | officers).values_list("email", flat=True)
    return sorted(set(emails))


def notify_failing(run_id: int) -> None:
    run = CheckRun.objects.select_related("project__team", "definition").get(pk=run_id)
    url = f"{settings.MLSEC_BASE_URL.rstrip('/')}/projects/{run.project_id}/#checks"
    subject = f"[MLSec Portal] {run.definition.title} now failing on {run.project.name}"
    lines = [f"{run.definition.title} started failing on {run.project.name} ({run.project.team.name}).", "",
             run.summary, ""]
    for finding in run.findings[:10]:
        lines.append(f"- [{finding.get('severity')}] {finding.get('title')} {finding.get('ref', '')}".rstrip())
    lines += ["", f"Details: {url}",
              "Until a later run passes, the practices this check covers count at most level 1."]
    to = recipients(run)
    if to:
        send_mail(subject, "\n".join(lines), settings.DEFAULT_FROM_EMAIL, to, fail_silently=False)
    if settings.MLSEC_WEBHOOK_URL:
        post_webhook(settings.MLSEC_WEBHOOK_URL, {
            "event": "check.failing", "check": run.definition_id, "project": run.project_id,
            "project_name": run.project.name, "team": run.project.team.slug, "run": run.pk,
            "summary": run.summary, "url": url,
        })


def post_webhook(url: str, payload: dict, timeout: float = 5.0) -> bool:
    """POST JSON to the configured webhook; a failure is logged, never raised into the check run."""
    if urlsplit(url).scheme not in ("http", "https"):
        log.warning("webhook URL must be http or https; not sending")
        return False
    request = urllib.request.Request(  # noqa: S310 - scheme checked above; the URL is operator configuration
        url, data=json.dumps(payload).encode(), method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "MLSecPortal/1"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  # nosec B310 - http(s) only, checked above
            return 200 <= response.status < 300
    except OSError as exc:
        log.warning("webhook delivery failed: %s", type(exc).__name__)
        return False
