"""The registry of notification events: who is told by default, and what the message says.

Every event is registered here once; `notify()` refuses an unregistered name, so a typo fails a test
rather than sending nothing. A renderer returns (title, body, path): plain text, no secrets, and a
portal path the messages turn into a link with MLSEC_BASE_URL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import Q

from accounts.choices import OrgRole, TeamRole


@dataclass(frozen=True)
class Event:
    key: str
    label: str
    audience: str  # who is told by default, in words (pages and docs)
    recipients: Callable[[object, dict], Iterable]  # default people, when notify() is given none
    render: Callable[[object, dict], tuple[str, str, str]]


def team_id_of(obj, context: dict | None = None) -> int | None:
    """The team an object belongs to: itself, through its project (assessments, evidence, runs, actions),
    or, for an object spanning teams (a campaign), the team slug its context names."""
    from accounts.models import Team

    if isinstance(obj, Team):
        return obj.pk
    if getattr(obj, "team_id", None):
        return obj.team_id
    project = getattr(obj, "project", None)
    if getattr(project, "team_id", None):
        return project.team_id
    slug = (context or {}).get("team")
    if isinstance(slug, str) and slug:
        return Team.objects.filter(slug=slug).values_list("pk", flat=True).first()
    return None


def _users():
    from accounts.models import User

    return User.objects.filter(is_active=True)


def officers(obj=None, context=None):
    return _users().filter(org_role=OrgRole.OFFICER)


def team_people(obj, context=None):
    return _users().filter(memberships__team_id=team_id_of(obj)).distinct()


def leads_and_officers(obj, context=None):
    lead = Q(memberships__team_id=team_id_of(obj), memberships__role=TeamRole.LEAD)
    return _users().filter(lead | Q(org_role=OrgRole.OFFICER)).distinct()


def uploader_and_owner(evidence, context=None):
    """The person who uploaded the evidence, and its owners: the team's leads, plus the owner of the answer it
    supports when that answer names a user (`Answer.owner_user`, with the remediation actions)."""
    lead = Q(memberships__team_id=team_id_of(evidence), memberships__role=TeamRole.LEAD)
    people = lead | Q(pk=evidence.uploaded_by_id)
    answer_owner = getattr(evidence.answer, "owner_user_id", None) if evidence.answer_id else None
    if answer_owner:
        people |= Q(pk=answer_owner)
    return _users().filter(people).distinct()


def proposer_and_leads(acceptance, context=None):
    lead = Q(memberships__team_id=team_id_of(acceptance), memberships__role=TeamRole.LEAD)
    return _users().filter(lead | Q(pk=acceptance.proposed_by_id)).distinct()


def action_owner_and_leads(action, context=None):
    """The action's owner (a user, once actions have one) and the team's leads."""
    lead = Q(memberships__team_id=team_id_of(action), memberships__role=TeamRole.LEAD)
    owner_id = getattr(action, "owner_id", None)
    return _users().filter(lead | Q(pk=owner_id) if owner_id else lead).distinct()


# --- renderers ------------------------------------------------------------------------------------

def _day(value) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else "an unknown date"


def _assessment(verb: str, tail: Callable[[object], str] = lambda a: ""):
    def render(a, context):
        title = f"{a.project.name} {a.cycle} {verb}"
        return title, f"The {a.cycle} assessment of {a.project.name} was {verb}.{tail(a)}", f"/assessments/{a.pk}/"
    return render


def _comment(a) -> str:
    return f"\n\nThe reviewer's comment:\n{a.review_comment}" if a.review_comment else ""


def _where(e) -> str:
    """A project's name, or the owner of shared evidence (a team's, or the organisation's)."""
    if getattr(e, "project_id", None):
        return e.project.name
    team = getattr(e, "team", None)
    return f"shared by {team.name}" if team is not None else "shared by the organisation"


def _evidence(e, title: str, body: str) -> tuple[str, str, str]:
    """An evidence message: `title` and the evidence's title, the body after what the evidence is and whose."""
    return f"{title}: {e.title}", f"{e.practice.code} {e.title} ({_where(e)}) {body}", f"/evidence/{e.pk}/"


def _evidence_reviewed(e, context):
    note = f"\n\nNote: {e.review_note}" if e.review_note else ""
    return _evidence(e, f"Evidence {e.status}", f"was {e.status} by a security officer.{note}")


def _evidence_expiring(e, context):
    return _evidence(e, f"Evidence expires on {_day(e.valid_until)}",
                     f"expires on {_day(e.valid_until)}. Renew it before then, or the practice it supports is "
                     "marked stale.")


def _evidence_expired(e, context):
    return _evidence(e, "Evidence expired", f"expired on {_day(e.valid_until)}: the practice it supports now counts "
                                            "as stale. Upload a current version.")


def _acceptance(r, title: str, body: str) -> tuple[str, str, str]:
    """A risk acceptance message: `title`, the project and the practice; the body; the project page."""
    return f"{title}: {r.project.name} {r.practice.code}", body, f"/projects/{r.project_id}/"


def _acceptance_proposed(r, context):
    return _acceptance(r, "Risk acceptance proposed",
                       f"The team proposes to accept the gap on {r.practice.code} for {r.project.name} until "
                       f"{_day(r.expires_on)}.\n\n{r.justification}")


def _acceptance_decided(r, context):
    note = f"\n\nNote: {r.decision_note}" if r.decision_note else ""
    return _acceptance(r, f"Risk acceptance {r.status}",
                       f"The risk acceptance of {r.practice.code} for {r.project.name} was {r.status}.{note}")


def _acceptance_expiring(r, context):
    return _acceptance(r, f"Risk acceptance ends on {_day(r.expires_on)}",
                       f"The accepted risk on {r.practice.code} for {r.project.name} ends on {_day(r.expires_on)}. "
                       "Close the gap or propose a new acceptance.")


def _check_failing(run, context):
    lines = [f"{run.definition.title} started failing on {run.project.name}.", "", run.summary]
    lines += [f"- [{f.get('severity')}] {f.get('title')} {f.get('ref', '')}".rstrip() for f in run.findings[:10]]
    lines += ["", "Until a later run passes, the practices this check covers count at most level 1."]
    return f"{run.definition.title} now failing on {run.project.name}", "\n".join(lines), f"/check-runs/{run.pk}/"


def _check_recovered(run, context):
    return (f"{run.definition.title} passes again on {run.project.name}",
            f"{run.definition.title} passes again on {run.project.name}: {run.summary}", f"/check-runs/{run.pk}/")


def _due(action, context) -> str:
    due = context.get("due_on") or context.get("due_date") or getattr(action, "due_on", None)
    return due.isoformat() if hasattr(due, "isoformat") else str(due or "")


def _action(verb: str):
    def render(action, context):
        due = _due(action, context)
        when = f" (due {due})" if due else ""
        path = context.get("path") or (action.get_absolute_url() if hasattr(action, "get_absolute_url") else "/")
        return f"Action {verb}: {action}{when}", f"The remediation action “{action}” is {verb}{when}.", path
    return render


def _campaign(kind: str):
    def render(campaign, context):
        cycle, deadline = context.get("cycle") or getattr(campaign, "cycle", ""), context.get("deadline", "")
        path = context.get("path") or "/"
        if kind == "started":
            return (f"Assessment cycle {cycle} started: due {deadline}",
                    f"The {cycle} assessment cycle has started. Drafts pre-filled from your last approved answers "
                    f"are waiting; submit them by {deadline}.", path)
        if kind == "reminder":
            return (f"Assessment cycle {cycle} is due on {deadline}",
                    f"{context.get('not_submitted', 'Some')} project(s) of your team have not submitted their {cycle} "
                    f"assessment yet; the deadline is {deadline}.", path)
        behind = context.get("teams_behind") or {}
        lines = "\n".join(f"- {team}: {count} not submitted" for team, count in sorted(behind.items()))
        return (f"Assessment cycle {cycle} is past its deadline",
                f"The {cycle} cycle was due on {deadline}; these teams have not submitted:\n{lines}", path)
    return render


def campaign_team_leads(campaign, context):
    """The leads of the team named in the context (a campaign spans teams; each team is told apart)."""
    return _users().filter(memberships__team__slug=(context or {}).get("team", ""),
                           memberships__role=TeamRole.LEAD).distinct()


EVENTS: dict[str, Event] = {e.key: e for e in (
    Event("assessment.submitted", "Assessment submitted for review", "security officers", officers,
          _assessment("submitted for review")),
    Event("assessment.returned", "Assessment returned for changes", "the team", team_people,
          _assessment("returned for changes", _comment)),
    Event("assessment.approved", "Assessment approved", "the team", team_people, _assessment("approved", _comment)),
    Event("evidence.reviewed", "Evidence reviewed", "its uploader and the team's leads", uploader_and_owner,
          _evidence_reviewed),
    Event("evidence.expiring", "Evidence expiring soon", "its uploader and the team's leads", uploader_and_owner,
          _evidence_expiring),
    Event("evidence.expired", "Evidence expired", "its uploader and the team's leads", uploader_and_owner,
          _evidence_expired),
    Event("acceptance.proposed", "Risk acceptance proposed", "security officers", officers, _acceptance_proposed),
    Event("acceptance.decided", "Risk acceptance decided", "its proposer and the team's leads", proposer_and_leads,
          _acceptance_decided),
    Event("acceptance.expiring", "Risk acceptance ending soon", "its proposer and the team's leads",
          proposer_and_leads, _acceptance_expiring),
    Event("check.failing", "Check started failing", "the team's leads and security officers", leads_and_officers,
          _check_failing),
    Event("check.recovered", "Check passes again", "the team's leads and security officers", leads_and_officers,
          _check_recovered),
    Event("action.due", "Remediation action due soon", "its owner and the team's leads", action_owner_and_leads,
          _action("due soon")),
    Event("action.overdue", "Remediation action overdue", "its owner and the team's leads", action_owner_and_leads,
          _action("overdue")),
    Event("campaign.started", "Assessment cycle started", "the team's leads", campaign_team_leads,
          _campaign("started")),
    Event("campaign.reminder", "Assessment cycle deadline near", "the team's leads", campaign_team_leads,
          _campaign("reminder")),
    Event("campaign.escalation", "Assessment cycle past its deadline", "security officers", officers,
          _campaign("escalation")),
)}


def get(key: str) -> Event:
    try:
        return EVENTS[key]
    except KeyError:
        raise ValueError(f"unknown notification event {key!r}; register it in notifications/events.py") from None
