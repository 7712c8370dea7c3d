"""Each permission rule is written once (docs/roles.md, "Where each rule is defined").

A rule written a second time drifts from the first: the project page once offered risk-acceptance
decisions to any officer not in the team *now*, while the service refused an officer who had been in it
since the proposal. So roles are combined only where rules are defined (a `models.py`, or
`accounts/duties.py`), templates never compare roles, and every definition docs/roles.md names exists.
"""

from __future__ import annotations

import ast
import datetime as dt
import importlib
import re
from pathlib import Path

import pytest
from django.utils import timezone

from tests.project_files import project_files

ROOT = Path(__file__).resolve().parent.parent
ROLE_ATTRIBUTES = {"is_officer", "is_org_admin", "is_auditor"}
ROLE_METHODS = {"is_lead_of", "belongs_to", "belonged_to", "role_in"}
RULE_MODULES = ("models.py", "accounts/duties.py")
# (file, function): why roles are combined there, outside a model.
ALLOWED: dict[tuple[str, str], str] = {}


def _source_files():
    skipped = (".venv", ".git", "node_modules", "loadtest", "tests")
    for path in project_files("*.py"):
        parts = path.relative_to(ROOT).parts
        if any(part in skipped or part == "migrations" for part in parts):
            continue
        yield path


def _role_predicates(node: ast.AST) -> int:
    count = 0
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute) and sub.attr in ROLE_ATTRIBUTES:
            count += 1
        elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and sub.func.attr in ROLE_METHODS:
            count += 1
    return count


def role_combinations(source: str) -> list[tuple[str, int, str]]:
    """(enclosing function, line, expression) of each `and` / `or` that combines two or more role predicates."""
    found, stack = [], []

    class Visitor(ast.NodeVisitor):
        def visit_FunctionDef(self, node):
            stack.append(node.name)
            self.generic_visit(node)
            stack.pop()

        visit_AsyncFunctionDef = visit_FunctionDef

        def visit_BoolOp(self, node):  # the outermost one only: `a or (b and c)` is one combination
            if _role_predicates(node) >= 2:
                found.append((stack[-1] if stack else "<module>", node.lineno, ast.unparse(node)))
            else:
                self.generic_visit(node)

    Visitor().visit(ast.parse(source))
    return found


def test_the_scan_sees_a_rule_written_again_in_a_view():
    view = ("def project_create(request, team):\n"
            "    if not (request.user.is_org_admin or request.user.is_officer or request.user.is_lead_of(team.pk)):\n"
            "        raise PermissionDenied\n")
    assert [(name, line) for name, line, _ in role_combinations(view)] == [("project_create", 2)]
    assert role_combinations("def team_detail(request, team):\n    return team.can_add_project(request.user)\n") == []


def test_roles_are_combined_only_where_rules_are_defined():
    stray = []
    for path in _source_files():
        rel = path.relative_to(ROOT).as_posix()
        if rel.endswith(RULE_MODULES):
            continue
        for function, line, expression in role_combinations(path.read_text()):
            if (rel, function) not in ALLOWED:
                stray.append(f"{rel}:{line} in {function}(): {expression}")
    assert not stray, ("A permission rule written outside its model: make it one model method (docs/roles.md) "
                       "that the service enforces and the view reads.\n" + "\n".join(stray))


def test_every_allowed_exception_still_exists():
    for (rel, function), _reason in ALLOWED.items():
        assert any(name == function for name, _, _ in role_combinations((ROOT / rel).read_text())), (rel, function)


TEMPLATE_ROLE = re.compile(r"\.(?:" + "|".join(sorted(ROLE_ATTRIBUTES | ROLE_METHODS)) + r")\b")


def test_no_template_compares_roles():
    offenders = []
    for path in project_files("*.html"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith((".venv/", "node_modules/")) or "/templates/" not in f"/{rel}":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if TEMPLATE_ROLE.search(line):
                offenders.append(f"{rel}:{number}: {line.strip()[:120]}")
    assert not offenders, "Templates read a flag the view took from the model's rule:\n" + "\n".join(offenders)


def _documented_definitions() -> list[str]:
    text = (ROOT / "docs" / "roles.md").read_text()
    section = text.split("### Where each rule is defined", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "`" in line]
    return [name for row in rows for name in re.findall(r"`([a-z_]+(?:\.[A-Za-z_]+)+)`", row.rsplit("|", 2)[1])]


@pytest.mark.parametrize("dotted", _documented_definitions())
def test_each_documented_definition_exists(dotted):
    parts = dotted.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[split:]:
            target = getattr(target, attribute)
        assert callable(target), dotted
        return
    pytest.fail(f"{dotted}: no such module")


def test_the_roles_doc_names_the_rules_the_issue_names():
    names = set(_documented_definitions())
    assert {"accounts.models.Team.can_add_project", "assessments.models.RiskAcceptance.decision_refusal",
            "assessments.models.Assessment.review_refusal", "assessments.models.Project.can_approve_baseline",
            "evidence.models.Evidence.can_be_added_by", "evidence.models.Evidence.can_be_reviewed_by",
            "evidence.models.Evidence.can_be_linked_by", "controls.models.Practice.can_be_created_by"} <= names


def test_the_project_page_offers_a_decision_only_to_an_officer_the_service_lets_decide(org, client):
    """The officer was in the team after the proposal and has left: the page reads the same rule as the
    service, so it offers nothing, and posting anyway is refused."""
    from accounts.tests.factories import MembershipFactory
    from assessments.choices import AcceptanceStatus
    from assessments.models import RiskAcceptance
    from controls.models import Practice

    acceptance = RiskAcceptance.objects.create(
        project=org.project, practice=Practice.objects.get(code="MLS-14"), proposed_by=org.lead,
        justification="Federated learning is out of scope until the data platform exists.",
        expires_on=timezone.localdate() + dt.timedelta(days=90), status=AcceptanceStatus.PROPOSED)
    MembershipFactory(team=org.team, user=org.officer).delete()
    client.force_login(org.officer)
    page = client.get(f"/projects/{org.project.pk}/").content.decode()
    assert f'action="/risk-acceptances/{acceptance.pk}/decide/"' not in page
    response = client.post(f"/risk-acceptances/{acceptance.pk}/decide/", {"status": "approved", "note": "Fine."})
    assert response.status_code == 403
    assert RiskAcceptance.objects.get(pk=acceptance.pk).status == AcceptanceStatus.PROPOSED


def test_practice_create_custom_refuses_anyone_but_an_administrator(org):
    from django.core.exceptions import PermissionDenied

    from controls.models import Practice
    from controls.services import practice_create_custom

    for user in (org.officer, org.auditor, org.lead):
        with pytest.raises(PermissionDenied):
            practice_create_custom(actor=user, title="Publish model cards", category="Governance and people",
                                   description="Every production model has a model card.",
                                   levels=[{"level": i, "summary": f"Level {i}"} for i in range(5)])
    assert not Practice.objects.filter(is_custom=True).exists()
