from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from accounts.scope import ScopedViewSetMixin
from assessments.models import Project

from .. import services, sharing
from ..downloads import attachment_response
from ..filtersets import EvidenceFilter
from ..models import Evidence, EvidenceLink
from .serializers import EvidenceLinkSerializer, EvidenceReviewSerializer, EvidenceSerializer


class EvidenceViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                      viewsets.GenericViewSet):
    """Evidence for a project's practices: files (encrypted at rest), links, notes and check results."""

    serializer_class = EvidenceSerializer
    filterset_class = EvidenceFilter
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    queryset = (Evidence.objects.select_related("practice", "uploaded_by", "reviewed_by", "team")
                .prefetch_related(Prefetch("links", queryset=EvidenceLink.objects.select_related("practice").order_by("pk")))
                .order_by("-created_at", "-pk"))

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        serializer.instance = services.evidence_add(
            actor=self.request.user, project=data.get("project"), team=data.get("team"),
            effective_on=data.get("effective_on"), observed_from=data.get("observed_from"),
            observed_until=data.get("observed_until"), practice=data["practice"], kind=data["kind"],
            title=data.get("title", ""), url=data.get("url", ""), text=data.get("text", ""),
            upload=data.get("file"), valid_until=data.get("valid_until"), answer=data.get("answer"),
            supersedes=data.get("supersedes"),
        )

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiResponse(description="the stored bytes")})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        """The decrypted file, as an attachment, to anyone who may see the project."""
        evidence = self.get_object()
        return attachment_response(evidence)

    @extend_schema(request=EvidenceLinkSerializer, responses=EvidenceSerializer)
    @action(detail=True, methods=["post"], url_path="links")
    def link(self, request, pk=None):
        """Make shared evidence count for a project's practice (201); the audit trail records each link."""
        evidence = self.get_object()
        serializer = EvidenceLinkSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        sharing.evidence_link(actor=request.user, evidence=evidence, **serializer.validated_data)
        return Response(EvidenceSerializer(self.get_queryset().get(pk=evidence.pk),
                                           context=self.get_serializer_context()).data, status=201)

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["delete"], url_path=r"links/(?P<link_id>\d+)")
    def unlink(self, request, pk=None, link_id=None):
        evidence = self.get_object()
        link = get_object_or_404(EvidenceLink.objects.filter(evidence=evidence, unlinked_at__isnull=True,
                                                             project__in=self.scoped(Project)),
                                 pk=link_id)
        sharing.evidence_unlink(actor=request.user, link=link)
        return Response(status=204)

    @extend_schema(request=EvidenceReviewSerializer, responses=EvidenceSerializer)
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        evidence = self.get_object()
        if not evidence.can_be_reviewed_by(request.user):
            raise PermissionDenied("Only a security officer outside the team can review its evidence.")
        serializer = EvidenceReviewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        evidence = services.evidence_review(actor=request.user, evidence=evidence, **serializer.validated_data)
        return Response(EvidenceSerializer(evidence, context=self.get_serializer_context()).data)
