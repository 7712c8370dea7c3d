from django.core.exceptions import ValidationError
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound
from rest_framework.response import Response

from accounts.scope import ScopedViewSetMixin
from mlsec_portal.api import error_text

from .. import services
from ..downloads import download_response
from ..models import Report, ReportStatus
from .serializers import ReportSerializer


class ReportViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Exports for auditors: POST answers 202 at once; a worker builds the file; download when ready."""

    serializer_class = ReportSerializer
    filterset_fields = ["status", "format", "scope"]
    queryset = Report.objects.select_related("requested_by", "team", "project").order_by("-created_at")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        report = services.report_request(actor=request.user, scope=data["scope"], format=data["format"],
                                         team=data.get("team"), project=data.get("project"), as_of=data.get("as_of"))
        report = self.get_queryset().get(pk=report.pk)
        return Response(self.get_serializer(report).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiResponse(description="the export"),
                              409: OpenApiResponse(description="the stored file no longer matches its SHA-256")})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None) -> StreamingHttpResponse:
        report = self.get_object()
        if report.status != ReportStatus.READY:
            raise NotFound("This report is not ready.")
        try:
            return download_response(report, actor=request.user)
        except ValidationError as exc:
            raise StoredFileAltered(error_text(exc)) from exc

    @extend_schema(request=None, responses={202: ReportSerializer})
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None) -> Response:
        """Queue a failed export again (only its requester; the scope is checked again)."""
        report = services.report_retry(actor=request.user, report=self.get_object())
        return Response(self.get_serializer(self.get_queryset().get(pk=report.pk)).data, status=status.HTTP_202_ACCEPTED)


class StoredFileAltered(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "stored_file_altered"
