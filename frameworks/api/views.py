from django.db.models import Count
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from mlsec_portal.renderers import ORJSONRenderer
from scoring.services import parse_as_of

from ..models import Framework
from ..readiness import framework_readiness
from ..scope import resolve_scope
from .serializers import FrameworkSerializer, ReadinessSerializer, readiness_payload


class FrameworkViewSet(viewsets.ReadOnlyModelViewSet):
    """The frameworks the practices map to (data files, public to every signed-in user), and their readiness
    in the caller's scope: a team lead sees only the projects of their own teams."""

    serializer_class = FrameworkSerializer
    lookup_field = "key"
    lookup_value_regex = "[a-z0-9-]+"

    def get_queryset(self):
        return Framework.objects.annotate(requirement_count=Count("requirements")).order_by("position", "key")

    @extend_schema(
        parameters=[
            OpenApiParameter("team", str, description="a team's slug (default: every team in your scope)"),
            OpenApiParameter("project", int, description="a project's id"),
            OpenApiParameter("as_of", str, description="YYYY-MM-DD, not in the future (default: now)"),
        ],
        responses=ReadinessSerializer,
    )
    @action(detail=True, methods=["get"], renderer_classes=[ORJSONRenderer])
    def readiness(self, request, key=None):
        """Readiness of every requirement, with the practices and weakest projects behind each gap. For the
        EU AI Act only the articles that bind the scope's projects (by their role and risk class) are listed."""
        framework = get_object_or_404(Framework, key=key)
        as_of = parse_as_of(request.query_params.get("as_of"))
        scope = resolve_scope(request.user, team=request.query_params.get("team"),
                              project=request.query_params.get("project"))
        return Response(readiness_payload(framework_readiness(framework, scope, as_of=as_of)))
