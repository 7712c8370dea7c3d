"""The Frameworks part of the API (docs/frameworks.md, "Readiness"): serializers that document the schema, and the
payload builder the readiness view uses (the same document, built directly: see `readiness_payload`)."""

from __future__ import annotations

from rest_framework import serializers

from ..models import Framework
from ..readiness import FrameworkReadiness, RequirementReadiness


def rounded(value):
    return None if value is None else round(value, 1)


class FrameworkSerializer(serializers.ModelSerializer):
    requirements = serializers.IntegerField(source="requirement_count", read_only=True,
                                            help_text="number of requirements (every level of the hierarchy)")

    class Meta:
        model = Framework
        fields = ["key", "title", "short_title", "version", "publisher", "source", "levels", "gated", "requirements"]


class PracticeFigureSerializer(serializers.Serializer):
    code = serializers.CharField()
    score = serializers.FloatField(allow_null=True)
    coverage = serializers.FloatField(allow_null=True)
    verified = serializers.FloatField(allow_null=True)
    accepted = serializers.BooleanField()
    stale = serializers.BooleanField()
    capped = serializers.IntegerField()


class WeakProjectSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    team = serializers.CharField()
    readiness = serializers.FloatField()


class RequirementReadinessSerializer(serializers.Serializer):
    ref = serializers.CharField()
    title = serializers.CharField()
    parent = serializers.CharField(allow_null=True)
    depth = serializers.IntegerField()
    version = serializers.CharField(allow_blank=True,
                                    help_text="set when the identifier belongs to another release of the framework")
    readiness = serializers.FloatField(allow_null=True, help_text="0-100; null when nothing behind it is scored")
    coverage = serializers.FloatField(allow_null=True)
    verified = serializers.FloatField(allow_null=True)
    projects = serializers.IntegerField(help_text="projects in scope that the requirement binds")
    practices = serializers.ListField(child=serializers.CharField(),
                                      help_text="codes of every practice behind it (mapped to it or below it)")
    mapped = serializers.ListField(child=serializers.CharField(), help_text="codes mapped to this requirement itself")
    covered_by_catalogue = serializers.BooleanField()
    practice_scores = PracticeFigureSerializer(many=True)
    weakest_projects = WeakProjectSerializer(many=True, help_text="up to 3 projects below 100, weakest first")


class ScopeSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["organisation", "teams", "team", "project"])
    label = serializers.CharField()
    team = serializers.CharField(allow_null=True)
    project = serializers.IntegerField(allow_null=True)


class ReadinessSerializer(serializers.Serializer):
    framework = serializers.CharField()
    title = serializers.CharField()
    version = serializers.CharField()
    as_of = serializers.DateField()
    source = serializers.ChoiceField(choices=["live", "snapshot", "history"],
                                     help_text="live (today), snapshot (a stored day), or history (computed for a past day)")
    scope = ScopeSerializer()
    readiness = serializers.FloatField(allow_null=True)
    coverage = serializers.FloatField(allow_null=True)
    verified = serializers.FloatField(allow_null=True)
    projects = serializers.IntegerField()
    catalogue_coverage = serializers.FloatField(allow_null=True,
                                                help_text="share of the listed leaf requirements some practice covers")
    unclassified_projects = serializers.IntegerField(help_text="EU AI Act: projects without a role and risk class")
    not_covered = serializers.ListField(child=serializers.CharField(),
                                        help_text="refs of the requirements no practice maps to")
    requirements = RequirementReadinessSerializer(many=True)


def _requirement(row: RequirementReadiness) -> dict:
    r = row.requirement
    return {
        "ref": r.ref, "title": r.title, "parent": row.parent, "depth": r.depth, "version": r.version,
        "readiness": rounded(row.readiness), "coverage": rounded(row.coverage), "verified": rounded(row.verified),
        "projects": row.projects, "practices": [p.code for p in row.practices], "mapped": row.mapped,
        "covered_by_catalogue": row.covered_by_catalogue,
        "practice_scores": [{"code": p.code, "score": rounded(p.score), "coverage": rounded(p.coverage),
                             "verified": rounded(p.verified), "accepted": p.accepted, "stale": p.stale,
                             "capped": p.capped} for p in row.practices],
        "weakest_projects": [{"id": w.id, "name": w.name, "team": w.team, "readiness": rounded(w.readiness)}
                             for w in row.weakest],
    }


def readiness_payload(result: FrameworkReadiness) -> dict:
    """The document ReadinessSerializer describes, built directly (a test keeps the two identical)."""
    scope, fw = result.scope, result.framework
    return {
        "framework": fw.key, "title": fw.title, "version": fw.version, "as_of": result.as_of.isoformat(),
        "source": result.source,
        "scope": {"kind": scope.kind, "label": scope.label, "team": scope.team.slug if scope.team else None,
                  "project": scope.project.pk if scope.project else None},
        "readiness": rounded(result.readiness), "coverage": rounded(result.coverage),
        "verified": rounded(result.verified), "projects": result.projects,
        "catalogue_coverage": rounded(result.catalogue_coverage),
        "unclassified_projects": result.unclassified_projects,
        "not_covered": [r.ref for r in result.not_covered],
        "requirements": [_requirement(r) for r in result.requirements],
    }
