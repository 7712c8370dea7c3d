"""The portal assesses itself: an honest answer per practice, with what backs it and what is missing.

Seeded by `seed_demo` as the "MLSec Portal" project of the Platform security team; docs/security.md
explains the same answers at length. Levels follow the catalogue's rubric; None means not applicable.
"""

SELF_ASSESSMENT = {
    "MLS-01": (2, "Evidence files and reports are encrypted at rest (Fernet, MultiFernet rotation); production forces "
                  "HTTPS (HSTS, secure cookies). The database and its backups are encrypted only if the operator "
                  "configures it: the portal cannot see or measure that."),
    "MLS-02": (3, "One visible_to() scope method for pages and API; a role × endpoint matrix and an IDOR sweep over "
                  "every object type are tested on every change. No just-in-time access or automatic revocation."),
    "MLS-03": (2, "Every dependency pinned (full resolved set). The dependency check runs on requirements.txt with "
                  "whatever advisories are imported; CI has no advisory feed, so upgrades are manual."),
    "MLS-04": (3, "TOTP required for officers, auditors and administrators; one-time recovery codes; lock-out after "
                  "repeated failures on pages and API; tokens limited until enrolment. Not phishing-resistant (no "
                  "WebAuthn yet)."),
    "MLS-05": (None, "The portal trains and serves no model: there is no model performance to monitor."),
    "MLS-06": (3, "Stores only what an assessment needs; check findings never keep a secret or a personal-data value "
                  "(counts and locations only); evidence is what teams choose to upload."),
    "MLS-07": (3, "Token or session auth on every endpoint, throttling, an OpenAPI schema, bounded schemathesis fuzzing "
                  "of every operation in CI. No API gateway policy-as-code."),
    "MLS-08": (1, "Threat model written (docs/security.md) and static analysis in CI, but no independent penetration "
                  "test of the portal yet."),
    "MLS-09": (1, "Failed logins are counted and locked out, every change is audited; nothing looks for unusual usage "
                  "patterns."),
    "MLS-10": (1, "No training record for the portal's maintainers is kept in the portal itself."),
    "MLS-11": (None, "No model is trained for or by the portal."),
    "MLS-12": (3, "Every API and form input is validated (serializers, model validators, check-target rules); uploads "
                  "are typed from their bytes and size-limited; fuzzing finds no server error."),
    "MLS-13": (3, "ruff and bandit (no high-severity finding allowed) on every change; the portal never unpickles "
                  "anything; scanners run on files they do not load."),
    "MLS-14": (None, "No federated training: the portal holds its own small database."),
    "MLS-15": (1, "Structured JSON logs with request ids; network monitoring is left to the operator's infrastructure."),
    "MLS-16": (2, "Findings mask personal data by design; demo data is synthetic. Uploaded evidence is stored as given "
                  "(encrypted), not masked."),
    "MLS-17": (1, "Backup, restore and key rotation are documented (docs/operations.md); there is no incident playbook "
                  "specific to a compromise of the portal."),
    "MLS-18": (None, "The portal makes no model predictions; its exports are signed and their content is audited."),
    "MLS-19": (2, "Append-only, hash-chained audit trail of every change and sign-in, verified by a command; no "
                  "behavioural analytics on it."),
    "MLS-20": (3, "About a thousand tests on every change: unit, API contract, permissions, browser (Chromium), a real "
                  "Celery worker on Redis, API fuzzing, static analysis. Security gates, not yet grown from incidents."),
    "MLS-21": (2, "Evidence encrypted at rest, served only through an authorising view; retention of check history "
                  "and snapshots is enforced by a periodic task; backups documented. No data residency controls."),
    "MLS-22": (2, "Exports are encrypted at rest, served as sandboxed attachments, and bundles are Ed25519-signed; TLS "
                  "in transit depends on the deployment's proxy."),
    "MLS-23": (None, "The portal ships no model; its code is versioned in git and its catalogue file is versioned and "
                     "hashed on load."),
    "MLS-24": (1, "No external security review or disclosure programme for the portal yet."),
    "MLS-25": (1, "No ML-security training record for the portal's maintainers."),
}
