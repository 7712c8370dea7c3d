"""People, teams' memberships, identity providers, group rules, SCIM tokens and invitations, in pages.

Administrators manage users, roles, providers, rules, tokens and invitations; administrators and
security officers manage team memberships, never their own (accounts.services refuses). Every write
goes through a service, which audits it; a refusal is a form error or a message and changes nothing.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts import services as account_services
from accounts.models import Membership, Team, User
from accounts.scope import get_scoped_or_404, scoped_view
from mlsec_portal.api import action_done, error_text, errors_to_form, form_saved

from . import services
from .forms import (
    AcceptInvitationForm,
    InviteForm,
    MembershipForm,
    ProviderForm,
    RuleForm,
    ScimTokenForm,
    UserRoleForm,
)
from .invitations import (
    INVALID,
    invitation_accept,
    invitation_create,
    invitation_for,
    invitation_revoke,
    pending_invitations,
)
from .models import GroupRule, IdentityProvider, Invitation, ScimToken


def _admin_only(user) -> None:
    if not user.is_org_admin:
        raise PermissionDenied("Only administrators manage people and identity.")


@login_required
@require_http_methods(["GET", "POST"])
def people(request: HttpRequest) -> HttpResponse:
    _admin_only(request.user)
    invite = InviteForm(request.POST or None)
    if request.method == "POST" and invite.is_valid():
        if form_saved(request, invite, lambda: invitation_create(
                actor=request.user, email=invite.cleaned_data["email"], org_role=invite.cleaned_data["org_role"],
                link_for=lambda key: request.build_absolute_uri(reverse("invitation-accept", args=[key]))),
                f"Invitation sent to {invite.cleaned_data['email']}."):
            return redirect("people")
    users = User.objects.order_by("username").only("username", "first_name", "last_name", "email", "org_role",
                                                    "is_active", "identity_source", "is_superuser")
    return render(request, "identity/people.html", {
        "users": users, "invite": invite,
        "invitations": pending_invitations().select_related("created_by")[:50],
    })


@login_required
@require_POST
def invitation_revoke_page(request: HttpRequest, pk: int) -> HttpResponse:
    _admin_only(request.user)
    invitation = get_object_or_404(Invitation, pk=pk)
    action_done(request, lambda: invitation_revoke(actor=request.user, invitation=invitation),
                f"The invitation for {invitation.email} no longer works.")
    return redirect("people")


@login_required
@require_POST
def person_update(request: HttpRequest, pk: int) -> HttpResponse:
    _admin_only(request.user)
    person = get_object_or_404(User, pk=pk)
    form = UserRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a role.")
        return redirect("people")
    action_done(request, lambda: account_services.user_update(actor=request.user, user=person, **form.cleaned_data),
                f"{person.get_username()} updated.")
    return redirect("people")


@require_http_methods(["GET", "POST"])
def invitation_accept_page(request: HttpRequest, key: str) -> HttpResponse:
    invitation = invitation_for(key)
    if invitation is None:
        return render(request, "identity/invitation.html", {"invalid": INVALID}, status=404)
    form = AcceptInvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if form_saved(request, form, lambda: invitation_accept(key=key, **form.cleaned_data),
                      "Your account is ready: sign in."):
            return redirect("login")
    return render(request, "identity/invitation.html", {"form": form, "invitation": invitation})


@login_required
@require_http_methods(["GET", "POST"])
@scoped_view
def team_members(request: HttpRequest, slug: str) -> HttpResponse:
    team = get_scoped_or_404(request, Team, slug=slug)
    if not team.can_be_managed_by(request.user):
        raise PermissionDenied("Only administrators and security officers manage team memberships.")
    form = MembershipForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account_services.membership_set(actor=request.user, team=team, **form.cleaned_data)
        except (ValidationError, PermissionDenied) as exc:
            if isinstance(exc, PermissionDenied):
                form.add_error(None, str(exc))
            else:
                errors_to_form(form, exc)
        else:
            messages.success(request, "Membership saved.")
            return redirect("team-members", slug=team.slug)
    members = Membership.objects.filter(team=team).select_related("user").order_by("role", "user__username")
    return render(request, "identity/team_members.html", {"team": team, "members": members, "form": form})


@login_required
@require_POST
@scoped_view
def team_member_remove(request: HttpRequest, slug: str, user_pk: int) -> HttpResponse:
    team = get_scoped_or_404(request, Team, slug=slug)
    if not team.can_be_managed_by(request.user):
        raise PermissionDenied("Only administrators and security officers manage team memberships.")
    person = get_object_or_404(User, pk=user_pk)
    try:
        account_services.membership_remove(actor=request.user, team=team, user=person)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, error_text(exc) if isinstance(exc, ValidationError) else str(exc))
    else:
        messages.success(request, f"{person.get_username()} left {team.name}.")
    return redirect("team-members", slug=team.slug)


@login_required
@require_http_methods(["GET", "POST"])
def identity_settings(request: HttpRequest) -> HttpResponse:
    """Providers, group rules and SCIM tokens; each form posts here with its own `form` name."""
    _admin_only(request.user)
    which = request.POST.get("form", "")
    provider_form = ProviderForm(request.POST if which == "provider" else None)
    rule_form = RuleForm(request.POST if which == "rule" else None)
    token_form = ScimTokenForm(request.POST if which == "token" else None)
    new_token = None
    if request.method == "POST":
        bound = {"provider": provider_form, "rule": rule_form, "token": token_form}.get(which)
        if bound is not None and bound.is_valid():
            try:
                if which == "provider":
                    data = dict(bound.cleaned_data)
                    existing = IdentityProvider.objects.filter(slug=data["slug"]).first()
                    services.provider_save(actor=request.user, provider=existing, **data)
                elif which == "rule":
                    services.rule_create(actor=request.user, **bound.cleaned_data)
                else:
                    _, new_token = services.scim_token_create(actor=request.user, name=bound.cleaned_data["name"])
            except ValidationError as exc:
                errors_to_form(bound, exc)
            else:
                if new_token is None:
                    messages.success(request, "Saved.")
                    return redirect("identity-settings")
    return render(request, "identity/settings.html", {
        "providers": IdentityProvider.objects.all(), "rules": GroupRule.objects.select_related("team"),
        "tokens": ScimToken.objects.select_related("created_by"), "provider_form": provider_form,
        "rule_form": rule_form, "token_form": token_form, "new_token": new_token,
    })


@login_required
@require_POST
def identity_delete(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    _admin_only(request.user)
    if kind == "provider":
        services.provider_delete(actor=request.user, provider=get_object_or_404(IdentityProvider, pk=pk))
    elif kind == "rule":
        services.rule_delete(actor=request.user, rule=get_object_or_404(GroupRule, pk=pk))
    elif kind == "token":
        services.scim_token_revoke(actor=request.user, token=get_object_or_404(ScimToken, pk=pk))
    else:
        return HttpResponse(status=404)
    messages.success(request, "Done.")
    return redirect("identity-settings")
