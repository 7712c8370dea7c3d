"""Group rules → organisation role and team memberships, the same for SSO sign-in and SCIM.

Evaluated at every sign-in and after every SCIM change to a user or a group. A provider-managed
account's role is exactly what its groups grant (none if no rule matches); its rule-made memberships
are exactly the teams its groups grant, so a group removed at the provider removes the membership.
Manual memberships are never touched. Every change is an audit event by "system", naming the channel.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from accounts.choices import MembershipSource, OrgRole, TeamRole
from accounts.models import Membership, Team, User
from audit.services import audit_delete, audit_record

from .providers import Rule, group_rules

ROLE_RANK = {OrgRole.ADMIN: 3, OrgRole.OFFICER: 2, OrgRole.AUDITOR: 1, OrgRole.NONE: 0}
TEAM_RANK = {TeamRole.LEAD: 2, TeamRole.MEMBER: 1}


def roles_come_from_rules(rules: list[Rule] | None = None) -> bool:
    """Whether any rule grants an organisation role; if none does, roles are the portal's to set by hand."""
    return any(rule.org_role for rule in (rules if rules is not None else group_rules()))


def evaluate(groups: Iterable[str], rules: list[Rule] | None = None) -> tuple[str, dict[str, str]]:
    """(org role, {team slug: team role}) that `groups` grant; the strongest grant wins."""
    held = {g for g in groups if isinstance(g, str)}
    role, teams = OrgRole.NONE, {}
    for rule in rules if rules is not None else group_rules():
        if rule.group not in held:
            continue
        if rule.org_role and ROLE_RANK[rule.org_role] > ROLE_RANK[role]:
            role = rule.org_role
        if rule.team_slug and TEAM_RANK[rule.team_role] > TEAM_RANK.get(teams.get(rule.team_slug), 0):
            teams[rule.team_slug] = rule.team_role
    return role, teams


@transaction.atomic
def apply_groups(*, user: User, groups: Iterable[str], source: str, via: str) -> None:
    """Bring `user`'s role and rule-made memberships in line with `groups`.

    `source`: MembershipSource.SSO or .SCIM (recorded on new memberships); `via`: the channel named in
    the audit trail ("sso:<provider>", "scim").
    """
    rules = group_rules()
    role, teams = evaluate(groups, rules)
    extra = {"via": via}
    if roles_come_from_rules(rules) and not user.is_superuser and user.org_role != role:
        before = user.org_role
        user.org_role = role
        user.save(update_fields=["org_role"])
        audit_record(actor=None, action="user.update", obj=user, before={"org_role": before},
                     after={"org_role": role}, extra=extra)
    by_slug = {t.slug: t for t in Team.objects.filter(slug__in=teams)}
    current = {m.team.slug: m for m in Membership.objects.filter(user=user).select_related("team")}
    for slug, team_role in teams.items():
        team = by_slug.get(slug)
        if team is None:
            continue  # a rule naming a team that does not exist (yet) grants nothing
        membership = current.get(slug)
        if membership is None:
            membership = Membership.objects.create(team=team, user=user, role=team_role, source=source)
            audit_record(actor=None, action="membership.set", obj=membership, before=None,
                         after={"team": slug, "user": user.get_username(), "role": team_role, "source": source},
                         extra=extra)
        elif membership.source != MembershipSource.MANUAL and membership.role != team_role:
            before = membership.role
            membership.role = team_role
            membership.save(update_fields=["role"])
            audit_record(actor=None, action="membership.set", obj=membership, before={"role": before},
                         after={"team": slug, "user": user.get_username(), "role": team_role}, extra=extra)
    for slug, membership in current.items():
        if membership.source != MembershipSource.MANUAL and (slug not in teams or slug not in by_slug):
            before = {"team": slug, "user": user.get_username(), "role": membership.role, "source": membership.source}
            audit_delete(actor=None, action="membership.remove", obj=membership, before=before,
                         object_repr=f"{user} in {membership.team}", extra=extra)
