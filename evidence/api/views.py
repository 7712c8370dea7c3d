from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from .. import services
from ..filtersets import EvidenceFilter
from ..models import Evidence
from ..views import attachment_response
from .serializers import EvidenceReviewSerializer, EvidenceSerializer


class EvidenceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                      viewsets.GenericViewSet):
    """Evidence for a project's practices: files (encrypted at rest), links, notes and check results."""

    serializer_class = EvidenceSerializer
    filterset_class = EvidenceFilter
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def get_queryset(self):
        return (Evidence.objects.visible_to(self.request.user)
                .select_related("practice", "uploaded_by", "reviewed_by").order_by("-created_at", "-pk"))

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        serializer.instance = services.evidence_add(
            actor=self.request.user, project=data["project"], practice=data["practice"], kind=data["kind"],
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

    @extend_schema(request=EvidenceReviewSerializer, responses=EvidenceSerializer)
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        evidence = self.get_object()
        if not services.can_review_evidence(request.user, evidence):
            raise PermissionDenied("Only a security officer outside the team can review its evidence.")
        serializer = EvidenceReviewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        evidence = services.evidence_review(actor=request.user, evidence=evidence, **serializer.validated_data)
        return Response(EvidenceSerializer(evidence, context=self.get_serializer_context()).data)
