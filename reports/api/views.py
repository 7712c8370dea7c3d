from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from .. import services
from ..models import Report, ReportStatus
from ..views import download_response
from .serializers import ReportSerializer


class ReportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Exports for auditors: POST answers 202 at once; a worker builds the file; download when ready."""

    serializer_class = ReportSerializer
    filterset_fields = ["status", "format", "scope"]

    def get_queryset(self):
        return Report.objects.visible_to(self.request.user).select_related("requested_by", "team", "project").order_by(
            "-created_at")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        report = services.report_request(actor=request.user, scope=data["scope"], format=data["format"],
                                         team=data.get("team"), project=data.get("project"), as_of=data.get("as_of"))
        report = self.get_queryset().get(pk=report.pk)
        return Response(self.get_serializer(report).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiResponse(description="the export")})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None) -> StreamingHttpResponse:
        report = self.get_object()
        if report.status != ReportStatus.READY:
            raise NotFound("This report is not ready.")
        return download_response(report)
