"""Separation of duties: a reviewer is a security officer independent of the work they decide on.

Independent means three things, checked in this order:
1. the reviewer is a security officer (administrators and auditors review nothing);
2. the reviewer is not an author of the work (who submitted an assessment, proposed a risk
   acceptance, uploaded evidence), whatever their memberships are now;
3. the reviewer was not in the work's team at any moment of the work's span, from `since` until the
   decision: a membership that ended yesterday counts as much as one that holds today
   (`User.belonged_to`, from the membership history).

Each kind of work states its own span (`Assessment.review_refusal`, `RiskAcceptance.decision_refusal`,
`Evidence.can_be_reviewed_by`), and services refuse with the sentence returned here.
"""

from __future__ import annotations

import datetime as dt


def is_reviewer(user) -> bool:
    """Whether `user` decides on other people's work at all: security officers (pages word themselves by it)."""
    return user.is_officer


def independence_refusal(reviewer, *, team_id: int, authors, since: dt.datetime, work: str) -> str | None:
    """Why `reviewer` may not decide on `work` (a phrase such as "this assessment"), or None."""
    if not is_reviewer(reviewer):
        return f"Only a security officer can decide on {work}."
    if reviewer.pk in {getattr(a, "pk", a) for a in authors if a is not None}:
        return f"Nobody decides on {work} when they submitted or proposed it themselves: another officer must."
    if reviewer.belonged_to(team_id, since):
        return (f"Security officers never decide on {work} of a team they belong to or belonged to while the work "
                "was done: another officer must.")
    return None
