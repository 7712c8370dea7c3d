"""Template helpers of the framework pages, and the dashboard's flag for prohibited AI practices."""

import re

from django import template

from assessments.choices import AiActRiskClass
from assessments.models import Project

register = template.Library()


@register.filter
def readiness_band(value) -> str:
    """CSS modifier of a readiness bar: high (75+), mid (40+), low, or none when nothing is scored."""
    if value is None:
        return "none"
    return "high" if value >= 75 else "mid" if value >= 40 else "low"


@register.filter
def bar_width(value) -> int:
    return 0 if value is None else max(0, min(100, round(value)))


@register.inclusion_tag("frameworks/_prohibited_banner.html", takes_context=True)
def prohibited_projects(context):
    """Projects in the viewer's scope classified as a prohibited practice under the EU AI Act (one query)."""
    user = context.get("user")
    projects = list(Project.objects.visible_to(user).active().filter(ai_act_risk_class=AiActRiskClass.PROHIBITED)
                    .select_related("team").order_by("team__name", "name")[:20])
    return {"projects": projects}


@register.filter
def anchor(ref) -> str:
    """A requirement's HTML id: `Article 15(5)` → `req-article-15-5` (slugify would make it `article-155`)."""
    return "req-" + re.sub(r"[^a-z0-9]+", "-", str(ref).lower()).strip("-")
