"""A believable demo organisation, small for a demo or large for benchmarks (bulk inserts throughout).

Deterministic for a given seed. Each team has a maturity profile, each practice a difficulty, so the
heatmap shows real contrasts; assessments exist in every state, previous cycles were approved weeks
ago and superseded, so the 90-day history computed from them tells a true story of improvement.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from accounts.choices import OrgRole, TeamRole
from accounts.models import Membership, Team, User
from assessments.choices import AcceptanceStatus, AssessmentStatus, DataClassification, Lifecycle, RiskTier
from assessments.models import Answer, Assessment, Project, RiskAcceptance
from audit.services import audit_record
from controls.models import CatalogRelease, Practice

DEMO_ADVISORIES = Path(__file__).resolve().parent.parent / "checks" / "demo_advisories"
DEMO_PASSWORD = "mlsec-demo-2026"  # noqa: S105 - printed by make demo; demo data only  # pragma: allowlist secret

TEAMS = [
    ("fraud-detection", "Fraud detection", "Card, account and merchant fraud models scoring every payment.", 2.6,
     ["Card fraud scorer", "Account takeover detector", "Merchant risk model", "Chargeback predictor"]),
    ("recommendations", "Recommendations", "Ranking and recommendation models for the storefront and e-mail.", 1.9,
     ["Home feed ranker", "Similar items", "E-mail recommendations"]),
    ("search-ranking", "Search ranking", "Query understanding and learning-to-rank for site search.", 2.2,
     ["Query understanding", "Learning-to-rank", "Spelling correction"]),
    ("computer-vision", "Computer vision", "Document and identity verification, shelf monitoring.", 1.5,
     ["ID document verification", "Receipt OCR", "Shelf monitoring"]),
    ("speech-language", "Speech and language", "The support assistant (an LLM application), transcription and moderation.", 1.7,
     ["Support assistant (LLM)", "Call transcription", "Toxicity filter"]),
    ("platform-security", "Platform security", "The ML platform: feature store, model registry and this portal.", 3.0,
     ["Feature store", "Model registry"]),
]

# How much harder (negative) or easier (positive) each practice is than a team's average maturity.
PRACTICE_DIFFICULTY = {
    "MLS-01": 0.6, "MLS-02": 0.5, "MLS-03": -0.4, "MLS-04": 0.8, "MLS-05": 0.0, "MLS-06": -0.3, "MLS-07": 0.3,
    "MLS-08": -0.6, "MLS-09": -0.9, "MLS-10": 0.4, "MLS-11": -0.2, "MLS-12": -0.5, "MLS-13": 0.1, "MLS-14": -1.5,
    "MLS-15": -0.7, "MLS-16": -0.4, "MLS-17": -0.8, "MLS-18": -1.0, "MLS-19": -0.6, "MLS-20": 0.0, "MLS-21": 0.3,
    "MLS-22": -0.3, "MLS-23": -0.1, "MLS-24": -0.9, "MLS-25": -1.1,
}
NA_REASONS = {
    "MLS-14": "All training data sits in one governed warehouse; nothing needs to stay decentralised.",
    "MLS-22": "Batch model: predictions are written to an internal table, never sent over a network.",
    "MLS-12": "No external input: the model only reads curated internal features.",
}
# EU AI Act role and risk class of the named demo projects (fictional classifications, to show every case:
# a high-risk provider and deployer, transparency obligations, minimal risk, one prohibited practice, and
# platform components left unclassified). Generated projects cycle through AI_ACT_CYCLE.
AI_ACT = {
    "Card fraud scorer": ("provider", "minimal-risk"), "Account takeover detector": ("provider", "minimal-risk"),
    "Merchant risk model": ("deployer", "high-risk"), "Chargeback predictor": ("provider", "minimal-risk"),
    "Home feed ranker": ("provider", "minimal-risk"), "Similar items": ("provider", "minimal-risk"),
    "E-mail recommendations": ("provider", "limited-risk"), "Query understanding": ("provider", "minimal-risk"),
    "Learning-to-rank": ("provider", "minimal-risk"), "Spelling correction": ("provider", "minimal-risk"),
    "ID document verification": ("provider", "high-risk"), "Receipt OCR": ("provider", "minimal-risk"),
    "Shelf monitoring": ("deployer", "minimal-risk"), "Support assistant (LLM)": ("provider", "limited-risk"),
    "Call transcription": ("deployer", "prohibited"), "Toxicity filter": ("deployer", "minimal-risk"),
    "Feature store": ("", ""), "Model registry": ("", ""),
}
AI_ACT_CYCLE = [("provider", "minimal-risk"), ("provider", "high-risk"), ("deployer", "minimal-risk"),
                ("provider", "limited-risk"), ("deployer", "high-risk"), ("", ""), ("importer", "high-risk"),
                ("provider", "gpai")]
OWNERS = ["Ana Ribeiro", "Ben Okafor", "Chloé Martin", "Dev Patel", "Elif Yılmaz", "Femi Adeyemi", "Grace Liu",
          "Hugo Schmidt", "Ines Duarte", "Jonas Berg"]
NOTES = {
    "MLS-03": "Dependabot on all repositories; lock files with hashes for the training images.",
    "MLS-04": "SSO with MFA for the ML platform; service accounts still use long-lived keys.",
    "MLS-08": "External pen test covered the serving API last spring.",
    "MLS-11": "Training runs in an isolated namespace with egress limited to the artifact store.",
    "MLS-13": "bandit and detect-secrets in pre-commit and CI.",
    "MLS-17": "Generic IR plan; no ML-specific playbook yet.",
    "MLS-23": "Models registered with hashes; signing planned.",
}


@dataclass
class DemoResult:
    teams: int = 0
    projects: int = 0
    assessments: int = 0
    answers: int = 0
    targets: int = 0
    users: list[tuple[str, str]] = field(default_factory=list)


def _level(rng: random.Random, maturity: float, code: str, tier: str) -> int:
    bump = {"low": -0.2, "medium": 0.0, "high": 0.15, "critical": 0.3}[tier]
    value = maturity + PRACTICE_DIFFICULTY.get(code, 0.0) + bump + rng.gauss(0, 0.7)
    return max(0, min(4, round(value)))


class DemoBuilder:
    def __init__(self, *, teams: int | None = None, projects: int | None = None, seed: int = 42):
        self.rng = random.Random(seed)
        self.now = timezone.now()
        self.team_count = teams
        self.project_count = projects
        self.practices = list(Practice.objects.active().order_by("number"))
        self.password = make_password(DEMO_PASSWORD)
        self.result = DemoResult()

    # --- people ---------------------------------------------------------------------------------
    def _team_specs(self):
        if self.team_count is None and self.project_count is None:
            return TEAMS
        n = self.team_count or len(TEAMS)
        total = self.project_count or n * 3
        specs = []
        for i in range(n):
            base = TEAMS[i % len(TEAMS)]
            count = total // n + (1 if i < total % n else 0)
            names = [f"{base[4][j % len(base[4])]} {j // len(base[4]) + 1}" if j >= len(base[4]) else base[4][j]
                     for j in range(count)]
            slug = base[0] if i < len(TEAMS) else f"{base[0]}-{i // len(TEAMS) + 1}"
            name = base[1] if i < len(TEAMS) else f"{base[1]} {i // len(TEAMS) + 1}"
            specs.append((slug, name, base[2], max(0.8, min(3.4, base[3] + self.rng.uniform(-0.6, 0.6))), names))
        return specs

    def _user(self, username: str, role=OrgRole.NONE, first="", last="") -> User:
        return User(username=username, email=f"{username}@demo.mlsec.example", org_role=role, first_name=first,
                    last_name=last, password=self.password, is_staff=role == OrgRole.ADMIN,
                    is_superuser=role == OrgRole.ADMIN)  # the Django admin is the administrators' tool

    def build_people(self, specs) -> dict[str, Team]:
        org_users = [
            self._user("admin", OrgRole.ADMIN, "Alex", "Admin"),
            self._user("officer", OrgRole.OFFICER, "Olivia", "Officer"),
            self._user("officer2", OrgRole.OFFICER, "Omar", "Okoye"),
            self._user("auditor", OrgRole.AUDITOR, "Aud", "Itor"),
        ]
        teams = Team.objects.bulk_create([Team(slug=s, name=n, description=d) for s, n, d, _, _ in specs])
        team_users = []
        for index, team in enumerate(teams):
            lead_name = "lead" if index == 0 else f"lead-{team.slug}"
            member_name = "member" if index == 0 else f"member-{team.slug}"
            team_users += [self._user(lead_name, first=OWNERS[index % len(OWNERS)].split()[0], last="Lead"),
                           self._user(member_name, first=OWNERS[(index + 3) % len(OWNERS)].split()[0], last="Member")]
        users = User.objects.bulk_create(org_users + team_users)
        by_name = {u.username: u for u in users}
        memberships = []
        for index, team in enumerate(teams):
            lead = by_name["lead" if index == 0 else f"lead-{team.slug}"]
            member = by_name["member" if index == 0 else f"member-{team.slug}"]
            memberships += [Membership(team=team, user=lead, role=TeamRole.LEAD),
                            Membership(team=team, user=member, role=TeamRole.MEMBER)]
        # officer2 leads the platform team: the review queue shows why they cannot review its work.
        platform = next((t for t in teams if t.slug == "platform-security"), None)
        if platform:
            memberships.append(Membership(team=platform, user=by_name["officer2"], role=TeamRole.LEAD))
        Membership.objects.bulk_create(memberships)
        self.users = by_name
        self.result.teams = len(teams)
        self.result.users = [("admin", "administrator"), ("officer", "security officer"), ("auditor", "auditor"),
                             ("lead", f"lead of {teams[0].name}"), ("member", f"member of {teams[0].name}")]
        return {t.slug: t for t in teams}

    # --- projects and assessments ---------------------------------------------------------------
    def build_projects(self, specs, teams) -> list[tuple[Project, float]]:
        tiers = [RiskTier.LOW, RiskTier.MEDIUM, RiskTier.HIGH, RiskTier.CRITICAL]
        rows = []
        for slug, _, _, maturity, names in specs:
            for j, name in enumerate(names):
                tier = tiers[(j + len(slug)) % 4] if j < 4 else self.rng.choice(tiers)
                project_slug = "-".join(name.lower().replace("(", "").replace(")", "").split())[:60]
                role, risk_class = AI_ACT.get(name) or AI_ACT_CYCLE[len(rows) % len(AI_ACT_CYCLE)]
                rows.append((Project(
                    ai_act_role=role, ai_act_risk_class=risk_class,
                    team=teams[slug], name=name, slug=project_slug, risk_tier=tier,
                    description=f"{name}: owned by the {teams[slug].name} team.",
                    lifecycle=self.rng.choice([Lifecycle.PRODUCTION] * 3 + [Lifecycle.STAGING, Lifecycle.DEVELOPMENT]),
                    data_classification=self.rng.choice(list(DataClassification.values)),
                ), maturity))
        created = Project.objects.bulk_create([p for p, _ in rows], batch_size=1000)
        self.result.projects = len(created)
        # The organisation did not start today: projects were registered over the last year or two.
        for project in created:
            project.created_at = self._when(160, 700)
        Project.objects.bulk_update(created, ["created_at"], batch_size=1000)
        return [(p, m) for p, (_, m) in zip(created, rows, strict=True)]

    def _when(self, days_ago_low: int, days_ago_high: int) -> dt.datetime:
        days = self.rng.uniform(days_ago_low, days_ago_high)
        return self.now - dt.timedelta(days=days)

    def build_assessments(self, projects) -> None:
        version = CatalogRelease.current_version()
        today = timezone.localdate()
        current = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
        prev_q = (today.month - 1) // 3
        previous = f"{today.year}-Q{prev_q}" if prev_q else f"{today.year - 1}-Q4"
        lead_of = {m.team_id: m.user for m in Membership.objects.filter(role=TeamRole.LEAD).select_related("user")
                   if m.user.username.startswith(("lead",))}
        officer = self.users["officer"]
        plan = []  # (assessment, levels by code, na codes)
        for project, maturity in projects:
            lead = lead_of[project.team_id]
            roll = self.rng.random()
            na = {code for code in NA_REASONS if self.rng.random() < (0.7 if code == "MLS-14" else 0.15)}
            current_levels = {p.code: _level(self.rng, maturity, p.code, project.risk_tier) for p in self.practices}
            if roll < 0.72:
                prev_levels = {c: max(0, v - (1 if self.rng.random() < 0.5 else 0)) for c, v in current_levels.items()}
                approved_at = self._when(62, 150)  # last quarter's reviews
                plan.append((Assessment(project=project, cycle=previous, status=AssessmentStatus.APPROVED,
                                        catalog_version=version, created_by=lead, submitted_by=lead, reviewed_by=officer,
                                        submitted_at=approved_at - dt.timedelta(days=3), reviewed_at=approved_at,
                                        review_comment="Evidence for MLS-03 and MLS-13 checked; fine for this cycle."), prev_levels, na))
            if roll < 0.87:
                status = self.rng.choices(
                    [AssessmentStatus.APPROVED, AssessmentStatus.SUBMITTED, AssessmentStatus.RETURNED, AssessmentStatus.DRAFT],
                    weights=[60, 15, 8, 17])[0]
                levels = dict(current_levels)
                if status == AssessmentStatus.DRAFT:  # drafts are partly filled in
                    for code in self.rng.sample(sorted(levels), k=self.rng.randint(3, 15)):
                        levels[code] = None
                assessment = Assessment(project=project, cycle=current, status=status, catalog_version=version,
                                        created_by=lead)
                if status != AssessmentStatus.DRAFT:
                    assessment.submitted_by, assessment.submitted_at = lead, self._when(3, 55)
                if status in (AssessmentStatus.APPROVED, AssessmentStatus.RETURNED):
                    assessment.reviewed_by = officer
                    assessment.reviewed_at = min(self.now - dt.timedelta(hours=2),
                                                 assessment.submitted_at + dt.timedelta(days=self.rng.uniform(0.2, 4)))
                    assessment.review_comment = ("Good progress on encryption and access control." if status == AssessmentStatus.APPROVED else
                                                 "Please attach evidence for MLS-08 and explain the MLS-04 level.")
                plan.append((assessment, levels, na))
        self._supersede([a for a, _, _ in plan])
        created = Assessment.objects.bulk_create([a for a, _, _ in plan], batch_size=1000)
        answers = []
        owners = OWNERS
        for assessment, (_, levels, na) in zip(created, plan, strict=True):
            for practice in self.practices:
                code = practice.code
                if code in na:
                    answers.append(Answer(assessment=assessment, practice=practice, not_applicable=True,
                                          justification=NA_REASONS[code]))
                    continue
                level = levels.get(code)
                gap = level is not None and level < 3
                answers.append(Answer(
                    assessment=assessment, practice=practice, level=level,
                    owner=owners[(practice.number + assessment.project_id) % len(owners)] if level is not None else "",
                    notes=NOTES.get(code, "") if level is not None and self.rng.random() < 0.3 else "",
                    target_level=min(4, level + 1) if gap else None,
                    due_date=(timezone.localdate() + dt.timedelta(days=self.rng.randint(30, 200))) if gap else None,
                ))
        Answer.objects.bulk_create(answers, batch_size=5000)
        self.result.assessments = len(created)
        self.result.answers = len(answers)
        # bulk_create stamps "now" on auto_now_add fields: put creation where the story says it happened.
        for assessment in created:
            assessment.created_at = (assessment.submitted_at or self._when(1, 20)) - dt.timedelta(days=5)
        Assessment.objects.bulk_update(created, ["created_at"], batch_size=1000)

    @staticmethod
    def _supersede(assessments: list[Assessment]) -> None:
        """Before they are stored: each older approval ends when the next one was given (one counts)."""
        approved: dict[int, list[Assessment]] = {}
        for a in assessments:
            if a.status == AssessmentStatus.APPROVED:
                approved.setdefault(a.project_id, []).append(a)
        for items in approved.values():
            items.sort(key=lambda a: a.reviewed_at)
            for older, newer in zip(items, items[1:], strict=False):
                older.superseded_at = newer.reviewed_at

    def build_acceptances(self, projects) -> None:
        practice = {p.code: p for p in self.practices}
        rows = []
        for project, _ in projects[:: max(1, len(projects) // 6)]:
            lead = Membership.objects.filter(team=project.team, role=TeamRole.LEAD).first().user
            rows.append(RiskAcceptance(
                project=project, practice=practice["MLS-15"], proposed_by=lead, status=AcceptanceStatus.APPROVED,
                justification="Network flow logs arrive with the platform migration; compensated by egress allow-lists.",
                expires_on=timezone.localdate() + dt.timedelta(days=self.rng.randint(20, 150)),
                approved_by=self.users["officer"], decided_by=self.users["officer"], decided_at=self._when(10, 40),
                decision_note="Accepted until the migration; review at expiry.",
            ))
        if projects:
            project = projects[-1][0]
            lead = Membership.objects.filter(team=project.team, role=TeamRole.LEAD).first().user
            rows.append(RiskAcceptance(
                project=project, practice=practice["MLS-09"], proposed_by=lead, status=AcceptanceStatus.PROPOSED,
                justification="Anomaly detection on inference traffic needs the new telemetry pipeline (Q2).",
                expires_on=timezone.localdate() + dt.timedelta(days=120)))
        RiskAcceptance.objects.bulk_create(rows)

    def build_self_assessment(self, teams) -> tuple[Project, float] | None:
        """The portal itself, assessed honestly by the Platform security team (web/self_assessment.py)."""
        from web.self_assessment import SELF_ASSESSMENT

        team = teams.get("platform-security")
        if team is None:
            return None
        from web.demo_targets import demo_root, export_portal_source

        root = demo_root()
        targets = {}
        if root is not None:  # the team's own directory, like every other project's files
            source = export_portal_source(root / team.slug / "mlsec-portal")
            targets = {"source_path": str(source), "dependency_files": [str(source / "requirements.txt")]}
        project = Project.objects.create(
            team=team, name="MLSec Portal", slug="mlsec-portal", risk_tier=RiskTier.HIGH, lifecycle=Lifecycle.PRODUCTION,
            data_classification=DataClassification.CONFIDENTIAL,
            description="This portal: it holds every team's weaknesses, so it must pass the practices it scores.",
            check_targets=targets,
        )
        Project.objects.filter(pk=project.pk).update(created_at=self._when(300, 400))
        lead = Membership.objects.get(team=team, user__username="lead-platform-security").user
        reviewed = self._when(10, 20)
        assessment = Assessment.objects.create(
            project=project, cycle=f"{reviewed.year}-Q{(reviewed.month - 1) // 3 + 1}", status=AssessmentStatus.APPROVED,
            catalog_version=CatalogRelease.current_version(), created_by=lead, submitted_by=lead,
            submitted_at=reviewed - dt.timedelta(days=2), reviewed_by=self.users["officer"], reviewed_at=reviewed,
            review_comment="Honest and well argued; MLS-08 (no pen test yet) is the priority.")
        answers = []
        for practice in self.practices:
            level, text = SELF_ASSESSMENT.get(practice.code, (None, ""))
            if level is None:
                answers.append(Answer(assessment=assessment, practice=practice, not_applicable=True, justification=text))
            else:
                answers.append(Answer(assessment=assessment, practice=practice, level=level, notes=text,
                                      owner="Platform security", target_level=min(4, level + 1) if level < 3 else None))
        Answer.objects.bulk_create(answers)
        return project, 3.0

    def build_targets(self, projects) -> None:
        """Real files for the checks on a demo-sized organisation (a benchmark org gets none)."""
        from web.demo_targets import write_targets

        base = settings.MLSEC_BASE_URL.rstrip("/")
        changed = []
        for index, (project, _) in enumerate(projects):
            careless = index % 3 == 1
            endpoint = f"{base}/api/v1/projects/" if index % 5 == 0 else ""
            project.check_targets = write_targets(project.team.slug, project.slug, careless, endpoint)
            if index % 7 == 3:
                project.check_opt_outs = {"dataset-sensitive-data": "Synthetic data only; reviewed by the DPO in Q3."}
            changed.append(project)
        Project.objects.bulk_update(changed, ["check_targets", "check_opt_outs"], batch_size=500)
        self.result.targets = len(changed)

    EVIDENCE = [  # practice, kind, title, text or url, validity in days
        ("MLS-08", "link", "External penetration test report", "https://wiki.example.internal/security/pentest-2026", 365),
        ("MLS-10", "note", "Security awareness training: completion export", "97 % of the team completed the 2026 course.", 365),
        ("MLS-17", "link", "Incident-response plan with ML playbooks", "https://wiki.example.internal/ir/ml-playbooks", 365),
        ("MLS-25", "note", "ML security workshop attendance", "Prompt injection and unsafe deserialisation lab, 14 attendees.", 365),
        ("MLS-01", "note", "KMS key policy for training data buckets", "All buckets use SSE-KMS with yearly rotation.", 180),
        ("MLS-02", "link", "Quarterly access review sign-off", "https://wiki.example.internal/iam/reviews/2026-q3", 90),
        ("MLS-21", "link", "Data map and retention schedule", "https://wiki.example.internal/data/map", 365),
    ]

    def build_evidence(self, projects) -> None:
        """Evidence as teams really keep it: mostly accepted, some pending, some about to expire or expired."""
        from evidence.models import Evidence, EvidenceKind, EvidenceStatus

        practice = {p.code: p for p in self.practices}
        leads = {m.team_id: m.user for m in Membership.objects.filter(role=TeamRole.LEAD).select_related("user")
                 if m.user.username.startswith("lead")}
        officer = self.users["officer"]
        today = timezone.localdate()
        rows = []
        for index, (project, maturity) in enumerate(projects):
            careful = maturity >= 2.0 and index % 3 != 1
            for code, kind, title, body, days in self.EVIDENCE[: 7 if careful else 3]:
                created = self._when(20, 200)
                roll = self.rng.random()
                valid = created.date() + dt.timedelta(days=days)
                if roll < 0.06:
                    valid = today + dt.timedelta(days=self.rng.randint(3, 28))  # about to expire
                elif roll < 0.10:
                    valid = today - dt.timedelta(days=self.rng.randint(2, 40))  # already stale
                status = EvidenceStatus.PENDING if roll > 0.92 else EvidenceStatus.ACCEPTED
                rows.append(Evidence(
                    project=project, practice=practice[code], kind=kind, title=title,
                    url=body if kind == EvidenceKind.LINK else "", text=body if kind == EvidenceKind.NOTE else "",
                    valid_until=valid, status=status, uploaded_by=leads.get(project.team_id),
                    reviewed_by=officer if status == EvidenceStatus.ACCEPTED else None,
                    reviewed_at=created + dt.timedelta(days=2) if status == EvidenceStatus.ACCEPTED else None,
                    review_note="Checked against the source." if status == EvidenceStatus.ACCEPTED else "",
                ))
                rows[-1]._created = created
        created_rows = Evidence.objects.bulk_create(rows, batch_size=2000)
        for item, row in zip(created_rows, rows, strict=True):
            item.created_at = row._created
        Evidence.objects.bulk_update(created_rows, ["created_at"], batch_size=2000)

    @transaction.atomic
    def build(self, *, with_targets: bool = True) -> DemoResult:
        specs = self._team_specs()
        teams = self.build_people(specs)
        projects = self.build_projects(specs, teams)
        if with_targets:
            self.build_targets(projects)
        portal = self.build_self_assessment(teams) if self.team_count is None and self.project_count is None else None
        self.build_assessments(projects)
        self.build_acceptances(projects)
        self.build_evidence(projects)
        if portal is not None:
            self.result.projects += 1
        audit_record(actor=None, action="demo.seed", object_type="demo", object_id="seed",
                     after={"teams": self.result.teams, "projects": self.result.projects,
                            "assessments": self.result.assessments, "answers": self.result.answers})
        return self.result


def snapshot_history(days: int) -> int:
    """Daily snapshots for the last `days` days, each computed from history as of the end of that day."""
    from scoring.services import snapshot_scores

    today = timezone.localdate()
    for offset in range(days - 1, -1, -1):
        snapshot_scores(day=today - dt.timedelta(days=offset))
    return max(days, 0)
