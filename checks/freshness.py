"""`evidence-freshness`: the documents some practices rest on must be recent enough.

Audit reports, training records and incident-response plans age: a practice claimed on a
three-year-old document is not a practice. The check reads the project's accepted evidence in the
database, so unlike the file-reading runners it lives beside the models.
"""

from __future__ import annotations

import datetime as dt

from .runners.base import BaseCheck, CheckContext, CheckResult, CheckTargets, Finding

# practice → (what the evidence is, maximum age in days)
POLICY = {
    "MLS-08": ("a security audit or penetration-test report", 365),
    "MLS-10": ("a security training completion record", 365),
    "MLS-17": ("an incident-response plan or tabletop-exercise report", 365),
    "MLS-25": ("an ML security training record", 365),
}


class EvidenceFreshnessCheck(BaseCheck):
    key = "evidence-freshness"
    title = "Evidence freshness"
    practices = tuple(POLICY)
    default_schedule = "40 5 * * *"
    time_limit_s = 60
    source_kinds = ()  # reads the portal's own evidence, no source
    description = (
        "Reads the project's accepted evidence for audits (MLS-08), security training (MLS-10, MLS-25) and "
        "incident response (MLS-17). Fails when a practice has no accepted evidence or the newest is older "
        "than its policy age (365 days)."
    )

    def applies(self, targets: CheckTargets) -> bool:
        return True

    def run(self, ctx: CheckContext) -> CheckResult:
        from evidence.models import Evidence, EvidenceKind, EvidenceLink, EvidenceStatus

        project_id = getattr(ctx, "project_id", None)
        if project_id is None:
            return CheckResult("error", "no project given to the evidence-freshness check")
        now = ctx.clock()
        latest = {}
        # The project's own evidence and the shared documents linked to it; a document is as old as its
        # effective date says (an audit report issued in April counts from April, whenever it was uploaded).
        accepted = Evidence.objects.current().filter(status=EvidenceStatus.ACCEPTED).exclude(kind=EvidenceKind.CHECK)
        own = accepted.filter(project_id=project_id, practice__code__in=POLICY).values_list(
            "practice__code", "created_at", "valid_until", "effective_on")
        shared = (EvidenceLink.objects.filter(project_id=project_id, unlinked_at__isnull=True, practice__code__in=POLICY,
                                              evidence__in=accepted)
                  .values_list("practice__code", "evidence__created_at", "evidence__valid_until",
                               "evidence__effective_on"))
        rows = [*own, *shared]
        for code, created_at, valid_until, effective_on in rows:
            if valid_until is not None and valid_until < now.date():
                continue
            stamp = (dt.datetime.combine(effective_on, dt.time.min, tzinfo=dt.UTC) if effective_on else created_at)
            if code not in latest or stamp > latest[code]:
                latest[code] = stamp
        findings = []
        for code, (what, max_days) in POLICY.items():
            stamp = latest.get(code)
            if stamp is None:
                findings.append(Finding("medium", f"{code}: no accepted evidence", f"Attach {what} and have an officer accept it.", code))
            elif now - stamp > dt.timedelta(days=max_days):
                age = (now - stamp).days
                findings.append(Finding("medium", f"{code}: evidence is {age} days old",
                                        f"The newest accepted evidence ({what}) is older than {max_days} days.", code))
        data = {"latest": {code: stamp.isoformat() for code, stamp in latest.items()}}
        if findings:
            return CheckResult("failed", f"{len(findings)} of {len(POLICY)} practices lack fresh evidence", findings, data)
        return CheckResult("passed", f"accepted evidence younger than policy for all {len(POLICY)} practices", [], data)
