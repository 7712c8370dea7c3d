"""No knots between apps: the allowed dependencies are stated here, as data, and the import graph must keep to them.

grimp reads every `import` in the source, at module level and inside functions alike (a lazy import is still a
dependency), so an app cannot hide a cycle by importing late. Tests and migrations are left out of the graph.
The layering itself is explained in docs/architecture.md.
"""

from __future__ import annotations

import functools
from pathlib import Path

import grimp
import networkx as nx

ROOT = Path(__file__).resolve().parent.parent

# The project's wiring: it imports every app's API and schedules, nothing may import it back (but `web`,
# the top, which registers the schedules once migrations ran). The rest of mlsec_portal is the kernel.
WIRING_MODULES = {"mlsec_portal.urls", "mlsec_portal.api_urls", "mlsec_portal.schedules", "mlsec_portal.wsgi"}
WIRING = "mlsec_portal wiring"

# Bottom first. A component may import any component of a LOWER layer, never one of its own layer or above.
# Components that share a layer are independent of each other.
LAYERS: list[list[str]] = [
    ["mlsec_portal"],  # the kernel: settings helpers, API error helpers, renderers, downloads, broker, celery
    ["audit"],  # the audit trail every other app writes to
    ["accounts"],  # users, teams, memberships, roles, the scope querysets
    ["identity"],  # SSO, SCIM, invitations: ways into accounts
    ["controls"],  # the practice catalogue
    ["notifications"],  # delivery of messages; any domain app may notify
    ["assessments"],  # projects, assessments, answers, risk acceptances
    ["evidence"],  # evidence attached to a project's practices
    ["checks"],  # automated checks, their runs (filed as evidence) and baselines
    ["sources"],  # where checks fetch from: Git, S3, MLflow; the inventory of assets
    ["ingest"],  # results the teams' pipelines push (linked to the sources' asset versions by digest)
    ["actions"],  # remediation actions following verdicts and reviews
    ["scoring"],  # scores, rollups and snapshots of everything below
    ["campaigns"],  # organisation-wide review campaigns
    ["frameworks"],  # external frameworks mapped onto the catalogue, readiness, SoA
    ["reports"],  # exports of everything below
    [WIRING],  # URLs, API router, periodic schedules
    ["web"],  # what composes several apps: dashboard, project page, "my work", the demo, load_catalog
]

# Imports that go against the layering today, each a knot not yet untied: named, with its reason. The test
# fails on any import not allowed above and not listed here (a NEW knot), and on a listed one that is gone
# (so the list only shrinks). Each entry is (importing module, imported module).
KNOWN_KNOTS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "accounts-identity": (
        "the login page lists the SSO providers, and the role rules that accounts applies live in identity",
        [("accounts.views", "identity.providers"), ("accounts.services", "identity.rules")],
    ),
    "notifications-reminders": (
        "the daily reminders query evidence and acceptances; channels reuse evidence storage and the network guard",
        [("notifications.reminders", "assessments.models"), ("notifications.reminders", "evidence.models"),
         ("notifications.channels", "evidence.storage"), ("notifications.services", "evidence.storage"),
         ("notifications.outbox", "checks.runners.netguard"),
         ("notifications.transport", "checks.runners.netguard")],
    ),
    "assessments-checks-targets": (
        "a project's check targets are validated against the check registry and the team's confined directories",
        [("assessments.models", "checks.confinement"), ("assessments.validators", "checks.registry")],
    ),
    "assessments-review-verdicts": (
        "the review of an assessment shows the verdicts and evidence in force for its practices",
        [("assessments.review", "checks.choices"), ("assessments.review", "checks.models"),
         ("assessments.review", "evidence.models")],
    ),
    "assessments-form-evidence": (
        "the assessment form lists each practice's current evidence beside its answer",
        [("assessments.views", "evidence.models")],
    ),
    "checks-sources": (
        "a run executes through sources.runs and rescans read asset versions; sources is built on the checks",
        [("checks.rescan", "sources.assets"), ("checks.rescan", "sources.choices"), ("checks.rescan", "sources.models"),
         ("checks.services", "sources.runs"), ("checks.baselines", "sources.runs")],
    ),
    "checks-run-page-actions": (
        "a check run's page lists the open actions of its check",
        [("checks.views", "actions.models")],
    ),
    "actions-reports-csv": (
        "the actions CSV download reuses the export's formula-safe cell",
        [("actions.views", "reports.renderers.csv")],
    ),
    "frameworks-reports": (
        "the SoA names evidence by its path inside the export bundle",
        [("frameworks.soa", "reports.bundle")],
    ),
}

# Model relations against the layers: a foreign key is a dependency too (and one of migrations), even when it is
# written as a string and imports nothing. "app.Model.field" -> reason.
KNOWN_RELATION_KNOTS: dict[str, str] = {
    "audit.AuditEvent.actor": "the audit trail names its actor: settings.AUTH_USER_MODEL, which accounts provides",
    "evidence.Evidence.check_run": "a check run's verdict is filed as evidence that points back to its run",
    "checks.CheckRun.source": "a run records the source it checked (knot checks-sources)",
}


def component(module: str) -> str:
    if module in WIRING_MODULES or module.startswith("mlsec_portal.settings"):
        return WIRING
    return module.split(".")[0]


def _excluded(module: str) -> bool:
    parts = module.split(".")
    return "tests" in parts or "migrations" in parts


def app_packages() -> list[str]:
    apps = sorted(path.parent.name for path in ROOT.glob("*/apps.py"))
    return [*apps, "mlsec_portal"]


@functools.cache
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*app_packages(), include_external_packages=False, cache_dir=None)


@functools.cache
def cross_imports() -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(importing component, imported component) -> the module imports that make up that dependency."""
    g = graph()
    result: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for module in sorted(g.modules):
        if _excluded(module):
            continue
        for imported in sorted(g.find_modules_directly_imported_by(module)):
            if _excluded(imported) or component(module) == component(imported):
                continue
            result.setdefault((component(module), component(imported)), []).append((module, imported))
    return result


def rank() -> dict[str, int]:
    return {name: level for level, layer in enumerate(LAYERS) for name in layer}


def known() -> dict[tuple[str, str], str]:
    return {pair: name for name, (_, pairs) in KNOWN_KNOTS.items() for pair in pairs}


def describe(importer: str, imported: str) -> str:
    lines = graph().get_import_details(importer=importer, imported=imported)
    where = ", ".join(f"line {d['line_number']}: {d['line_contents']}" for d in lines) or "?"
    return f"{importer} -> {imported} ({where})"


def test_every_app_has_its_place_in_the_layers():
    placed = [name for layer in LAYERS for name in layer]
    assert len(placed) == len(set(placed)), "a component is in two layers"
    components = {component(m) for m in graph().modules if not _excluded(m)}
    assert components - set(placed) == set(), "place these apps in LAYERS (and in docs/architecture.md)"
    assert set(placed) - components == set(), "these are in LAYERS but no longer in the code"


def test_no_import_against_the_layers():
    ranks, allowed_knots = rank(), known()
    wrong = [
        describe(importer, imported)
        for (a, b), imports in cross_imports().items() if ranks[a] <= ranks[b]
        for importer, imported in imports if (importer, imported) not in allowed_knots
    ]
    assert wrong == [], (
        "these imports go up or sideways in the layering (tests/test_import_graph.py LAYERS): move the code to "
        "the app that owns it, or let the lower app call up through a registry or a signal:\n" + "\n".join(wrong))


def test_the_known_knots_are_still_there():
    """An untied knot leaves the list: otherwise a new import could silently take its place."""
    ranks, imports = rank(), {pair for pairs in cross_imports().values() for pair in pairs}
    stale = [f"{name}: {pair}" for pair, name in known().items() if pair not in imports]
    assert stale == [], "remove these from KNOWN_KNOTS, they are gone:\n" + "\n".join(stale)
    downward = [f"{name}: {pair}" for pair, name in known().items()
                if ranks[component(pair[0])] > ranks[component(pair[1])]]
    assert downward == [], "these are allowed by the layers anyway:\n" + "\n".join(downward)


def test_no_cycle_between_apps_but_the_known_knots():
    """Independently of the layer ranks: the app graph without the known knots has no cycle at all."""
    allowed_knots = known()
    deps = nx.DiGraph()
    for (a, b), imports in cross_imports().items():
        kept = [pair for pair in imports if pair not in allowed_knots]
        if kept:
            deps.add_edge(a, b, imports=kept)
    cycles = []
    for knot in nx.strongly_connected_components(deps):
        for a, b in sorted(deps.subgraph(knot).edges):  # each import between the knotted apps, and its way back
            cycle = [a, *nx.shortest_path(deps, b, a)]
            chain = "\n    ".join(describe(*deps.edges[x, y]["imports"][0]) for x, y in zip(cycle, cycle[1:]))
            cycles.append(" -> ".join(cycle) + ":\n    " + chain)
    assert cycles == [], "cycles between apps:\n" + "\n".join(cycles)


def test_api_modules_and_page_views_do_not_import_each_other():
    """An app's API (`<app>.api`) and its pages (`views`, `pages`) share services and helpers, not each other."""

    def is_api(module: str) -> bool:
        return component(module) != "mlsec_portal" and "api" in module.split(".")[1:]

    def is_page(module: str) -> bool:
        return not is_api(module) and module.split(".")[-1] in {"views", "pages", "oidc_views"}

    g = graph()
    wrong = [
        describe(module, imported)
        for module in sorted(g.modules) if not _excluded(module)
        for imported in sorted(g.find_modules_directly_imported_by(module))
        if (is_api(module) and is_page(imported)) or (is_page(module) and is_api(imported))
    ]
    assert wrong == [], "\n".join(wrong)


def test_no_model_relation_against_the_layers():
    """Foreign keys, one-to-one and many-to-many fields point down the layers too (or are a listed knot)."""
    from django.apps import apps

    ranks, against = rank(), {}
    for model in apps.get_models():
        owner = component(model.__module__)
        for field in model._meta.get_fields():
            if not field.is_relation or field.auto_created or not isinstance(field.related_model, type):
                continue
            target = component(field.related_model.__module__)
            if owner in ranks and target in ranks and owner != target and ranks[owner] <= ranks[target]:
                against[f"{model._meta.label}.{field.name}"] = field.related_model._meta.label
    wrong = [f"{name} -> {label}" for name, label in against.items() if name not in KNOWN_RELATION_KNOTS]
    assert wrong == [], "these relations point up or sideways in the layering:\n" + "\n".join(wrong)
    stale = sorted(set(KNOWN_RELATION_KNOTS) - set(against))
    assert stale == [], "remove these from KNOWN_RELATION_KNOTS, they are gone:\n" + "\n".join(stale)
