"""Scope once: every URL the portal routes reaches a view scoped by the one mechanism of accounts/scope.py.

The sweep walks every route (pages, the API router's viewsets, the schema, SCIM, OIDC, the admin) and
fails on a view that is neither scoped (`ScopedViewSetMixin` / `ScopedView` on the class, `@scoped_view`
on the function) nor on the allow-list below, each entry with its reason. A view added later without
scope fails here before any IDOR sweep has to catch it. docs/roles.md, "How scope is applied".
"""

from __future__ import annotations

import ast
import inspect
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import URLPattern, URLResolver, get_resolver, include, path
from django.urls.resolvers import RegexPattern
from rest_framework import mixins, viewsets
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from accounts.scope import (
    ScopedView,
    ScopedViewSetMixin,
    get_scoped_or_404,
    scoped,
    scoped_view,
    view_is_scoped,
)
from assessments.models import Project
from controls.models import Practice

# Views that read no team-owned object (or have their own, stricter gate), by dotted name: why each is
# not scoped. Anything else must be scoped.
ALLOWED = {
    # Signing in and out: nothing of any team is read.
    "accounts.views.login_view": "the sign-in form",
    "accounts.views.mfa_enrol": "the signed-in person's own second factor",
    "accounts.views.mfa_recovery_codes": "the signed-in person's own recovery codes",
    "accounts.api.auth.ObtainTokenView": "exchanges a password (and code) for the caller's own API token",
    "ingest.api.views.CIIdentityExchangeView": "a CI identity token (no user) exchanged for an ingest key bound to "
                                               "the one project its rule names; no team data is read",
    "accounts.api.auth.TotpStartView": "the caller's own second factor",
    "accounts.api.auth.TotpConfirmView": "the caller's own second factor",
    "accounts.views.SignOutView": "signs out (and clears the browser's cache of the portal)",
    "identity.oidc_views.OIDCLoginView": "starts single sign-on",
    "identity.oidc_views.OIDCCallbackView": "finishes single sign-on",
    "identity.oidc_views.OIDCLogout": "signs out of single sign-on",
    "identity.oidc_views.mfa_verify": "the second factor after single sign-on",
    "identity.pages.invitation_accept_page": "public by design: a single-use invitation key, no team data",
    # Organisation-wide objects that belong to no team, behind an administrator-only gate.
    "accounts.api.views.UserViewSet": "people are not team-owned; administrators only (IsOrgAdmin)",
    "identity.pages.people": "people and invitations are not team-owned; administrators only",
    "identity.pages.person_update": "a person's organisation role; administrators only",
    "identity.pages.identity_settings": "identity providers, group rules, SCIM tokens; administrators only",
    "identity.pages.identity_delete": "identity providers, group rules, SCIM tokens; administrators only",
    "identity.pages.invitation_revoke_page": "invitations are organisation-wide; administrators only",
    "identity.api.ScimTokenViewSet": "SCIM tokens are organisation-wide; administrators only (IsOrgAdmin)",
    "identity.scim.app.scim_view": "SCIM has its own bearer-token authentication and provisions the organisation",
    # The signed-in person's own settings.
    "notifications.api.views.PreferencesView": "the caller's own notification preferences",
    "notifications.views.preferences": "the signed-in person's own notification preferences",
    "notifications.views.notification_read_all": "marks the person's own notifications (the service filters by recipient)",
    # Catalogue data: the same for everyone signed in, owned by no team.
    "web.views.catalogue": "the practice catalogue",
    "controls.api.views.PracticeViewSet": "the practice catalogue (administrators add ORG-nn practices)",
    "checks.api.views.CheckViewSet": "the registered check definitions and their schedules",
    "frameworks.api.views.FrameworkViewSet": "frameworks are data files; `readiness` goes through "
                                             "frameworks.scope.resolve_scope (visible_to)",
    "reports.views.settings_page": "the portal's settings and public signing key",
    # The API's own plumbing.
    "rest_framework.routers.APIRootView": "the list of the API's resources",
    "drf_spectacular.views.SpectacularAPIView": "the OpenAPI schema (sign-in required), no data",
    "drf_spectacular.views.SpectacularSwaggerSplitView": "the API documentation page, no data",
}
# Whole URL prefixes.
ALLOWED_PREFIXES = {
    "admin/": "the Django admin: staff only, with its own permission per model",
}


def routes(resolver: URLResolver, prefix: str = ""):
    """(route, callback) for every URL pattern, included URLconfs walked recursively."""
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from routes(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


def view_class(callback):
    return getattr(callback, "cls", None) or getattr(callback, "view_class", None)


def dotted(callback) -> str:
    target = view_class(callback) or inspect.unwrap(callback)
    return f"{target.__module__}.{target.__qualname__}"


def problems_in(resolver: URLResolver, allowed=ALLOWED, prefixes=ALLOWED_PREFIXES) -> list[str]:
    """Every route whose view is not scoped by the shared mechanism and not allowed, with what is wrong."""
    found = []
    for route, callback in routes(resolver):
        name = dotted(callback)
        if name in allowed or route.startswith(tuple(prefixes)):
            continue
        cls = view_class(callback)
        if not view_is_scoped(callback):
            found.append(f"{route} → {name}: not scoped (ScopedViewSetMixin, ScopedView or @scoped_view)")
        elif cls is not None and issubclass(cls, GenericAPIView) and not issubclass(cls, ScopedViewSetMixin) and (
                cls.queryset is not None or cls.get_queryset is not GenericAPIView.get_queryset):
            found.append(f"{route} → {name}: serves a queryset without ScopedViewSetMixin")
    return found


def test_every_url_is_scoped_or_allowed_with_a_reason():
    everything = list(routes(get_resolver()))
    assert len(everything) > 200, len(everything)  # the walk reached the router, the pages and the admin
    problems = problems_in(get_resolver())
    assert problems == [], "\n".join(problems)


def test_every_registered_viewset_is_scoped_or_allowed():
    from mlsec_portal.api_urls import router

    unscoped = [f"{prefix}: {dotted(viewset.as_view({'get': 'list'}))}" for prefix, viewset, _ in router.registry
                if not issubclass(viewset, ScopedViewSetMixin)
                and f"{viewset.__module__}.{viewset.__qualname__}" not in ALLOWED]
    assert unscoped == [], "\n".join(unscoped)


def test_the_allow_list_names_routed_unscoped_views_only():
    """No stale entry (a view that is gone), no contradiction (a scoped view need not be allowed), a reason each."""
    routed = {dotted(callback): callback for _, callback in routes(get_resolver())}
    assert sorted(set(ALLOWED) - set(routed)) == []
    assert sorted(name for name in ALLOWED if view_is_scoped(routed[name])) == []
    assert all(reason.strip() and "\n" not in reason for reason in [*ALLOWED.values(), *ALLOWED_PREFIXES.values()])


def _first_party_view_modules():
    root = Path(settings.BASE_DIR).resolve()
    modules = {}
    for _, callback in routes(get_resolver()):
        target = view_class(callback) or inspect.unwrap(callback)
        module = sys.modules[target.__module__]
        file = Path(module.__file__).resolve()
        if file.is_relative_to(root) and ".venv" not in file.parts:
            modules[module.__name__] = file
    return modules


def test_views_never_call_visible_to_themselves():
    """Views reach `visible_to` only through accounts.scope (services given a user may call it)."""
    modules = _first_party_view_modules()
    assert len(modules) > 15, modules
    calls = []
    for name, file in sorted(modules.items()):
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "visible_to":
                calls.append(f"{name}:{node.lineno}")
    assert calls == [], "use scoped()/get_scoped_or_404()/ScopedViewSetMixin instead: " + ", ".join(calls)


# --- The sweep catches what it should: unscoped views, registered here, are reported -----------------

def _plain_page(request):
    return HttpResponse("ok")


@login_required
def _hand_scoped_page(request):
    """Signed in and scoped by hand: still refused, the mark is what the sweep trusts."""
    return HttpResponse(str(Project.objects.visible_to(request.user).count()))


@login_required
@scoped_view
def _scoped_page(request):
    return HttpResponse(str(scoped(request, Project).count()))


class _PlainApiView(APIView):
    def get(self, request):
        return Response({})


class _HalfScopedViewSet(ScopedView, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Marked, but serves its queryset without the mixin."""

    def get_queryset(self):
            return Project.objects.all()


class _UnscopedViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    def get_queryset(self):
            return Project.objects.visible_to(self.request.user)


class _ScopedViewSet(ScopedViewSetMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    queryset = Project.objects.order_by("pk")


def _resolver_for(patterns) -> URLResolver:
    return URLResolver(RegexPattern(r"^"), patterns)


def test_the_sweep_reports_unscoped_pages_api_views_and_viewsets():
    router = SimpleRouter()
    router.register("unscoped", _UnscopedViewSet, basename="unscoped")
    router.register("half", _HalfScopedViewSet, basename="half")
    router.register("scoped", _ScopedViewSet, basename="scoped")
    resolver = _resolver_for([
        path("plain/", _plain_page),
        path("by-hand/", _hand_scoped_page),
        path("scoped/", _scoped_page),
        path("api/plain/", _PlainApiView.as_view()),
        path("api/", include(router.urls)),
    ])
    problems = problems_in(resolver, allowed={}, prefixes={})
    reported = {problem.split(" → ")[1].split(":")[0] for problem in problems}
    here = __name__
    assert reported == {f"{here}._plain_page", f"{here}._hand_scoped_page", f"{here}._PlainApiView",
                        f"{here}._UnscopedViewSet", f"{here}._HalfScopedViewSet"}, problems
    assert any("serves a queryset without ScopedViewSetMixin" in p for p in problems if "_HalfScopedViewSet" in p)
    # The same views on the allow-list pass: the list is the only way out.
    allowed = dict.fromkeys(reported, "a reason")
    assert problems_in(resolver, allowed=allowed, prefixes={}) == []


def test_the_real_sweep_catches_a_view_added_to_the_portals_urls(monkeypatch):
    """Simulate a forgotten view in the real URLconf: the sweep over get_resolver() reports it."""
    resolver = get_resolver()
    resolver.url_patterns  # noqa: B018 (load it)
    monkeypatch.setattr(resolver, "url_patterns", [*resolver.url_patterns, path("forgotten/", _plain_page)])
    assert problems_in(resolver) == [f"forgotten/ → {__name__}._plain_page: not scoped (ScopedViewSetMixin, "
                                     "ScopedView or @scoped_view)"]


def test_a_viewset_cannot_override_get_queryset():
    with pytest.raises(TypeError, match="refine_queryset"):
        class _Escaping(ScopedViewSetMixin, viewsets.GenericViewSet):  # noqa: F841
            def get_queryset(self):
                return None


# --- The mechanism itself -----------------------------------------------------------------------------

def test_the_mixin_scopes_list_and_detail(org):
    from assessments.api.views import ProjectViewSet

    factory = APIRequestFactory()
    for user, expected in ((org.lead, {org.project.pk}), (org.other_lead, {org.other_project.pk}),
                           (org.officer, {org.project.pk, org.other_project.pk}), (org.nobody, set())):
        request = factory.get("/api/v1/projects/")
        force_authenticate(request, user=user)
        response = ProjectViewSet.as_view({"get": "list"})(request)
        assert {row["id"] for row in response.data["results"]} == expected, user
    request = factory.get(f"/api/v1/projects/{org.project.pk}/")
    force_authenticate(request, user=org.other_lead)
    assert ProjectViewSet.as_view({"get": "retrieve"})(request, pk=org.project.pk).status_code == 404


def test_refine_queryset_receives_the_queryset_already_scoped(org):
    seen = []

    class _Refining(ScopedViewSetMixin, viewsets.GenericViewSet):
        queryset = Project.objects.all()

        def refine_queryset(self, queryset):
            seen.append(set(queryset.values_list("pk", flat=True)))
            return queryset

    view = _Refining()
    view.request, view.action, view.format_kwarg = type("R", (), {"user": org.lead})(), "list", None
    view.get_queryset()
    assert seen == [{org.project.pk}]


def test_the_helpers_answer_404_outside_the_scope(org, rf):
    from django.http import Http404

    request = rf.get("/")
    request.user = org.other_lead
    assert list(scoped(request, Project)) == [org.other_project]
    assert list(scoped(org.lead, Project.objects.order_by("pk"))) == [org.project]
    assert get_scoped_or_404(request, Project, pk=org.other_project.pk) == org.other_project
    with pytest.raises(Http404):
        get_scoped_or_404(request, Project, pk=org.project.pk)


def test_scoping_a_model_that_belongs_to_no_team_is_an_error(org):
    with pytest.raises(TypeError, match="does not belong to a team"):
        scoped(org.lead, Practice)


def test_the_page_mark_survives_the_decorators_stacked_above_it():
    from assessments.views import acceptance_decide
    from web.project_page import project_detail

    assert view_is_scoped(project_detail) and view_is_scoped(acceptance_decide)
    assert not view_is_scoped(_hand_scoped_page)
