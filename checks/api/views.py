from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from accounts.scope import ScopedViewSetMixin
from assessments.models import Project
from evidence.models import Evidence

from .. import services
from ..filtersets import CheckRunFilter
from ..models import ArtifactBaseline, BaselineApproval, CheckDefinition, CheckRun
from ..schedules import schedules_by_check
from .serializers import (
    BaselineApprovalSerializer,
    BaselineSerializer,
    BaselineStateSerializer,
    CheckRunSerializer,
    CheckSerializer,
    RunChecksResponseSerializer,
    RunChecksSerializer,
)


class CheckViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The registered automated checks, with the practices they cover and their schedules."""

    serializer_class = CheckSerializer
    lookup_field = "key"

    def get_queryset(self):
        return CheckDefinition.objects.prefetch_related("practices").order_by("key")

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "schedules": schedules_by_check()}


class CheckRunViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Runs of the checks, newest first, in the user's scope."""

    serializer_class = CheckRunSerializer
    filterset_class = CheckRunFilter
    queryset = (CheckRun.objects.select_related("requested_by")
                .prefetch_related(Prefetch("evidence", queryset=Evidence.objects.only("pk", "check_run_id")))
                .order_by("-created_at", "-pk"))


@extend_schema(parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH,
                                            description="A unique integer value identifying this project.")])
class ProjectChecksViewSet(ScopedViewSetMixin, viewsets.GenericViewSet):
    """The checks of one project in the user's scope: run them, see and re-approve the model baseline.

    Routed by hand under projects/{id}/ (mlsec_portal/api_urls.py), with the URL names the project router gave them.
    """

    queryset = Project.objects.active().select_related("team")
    filter_backends = []  # one project by its id: the list filters and ordering do not apply

    def get_serializer_class(self):  # what OPTIONS describes (DRF's metadata asks for it)
        return RunChecksSerializer if self.action == "run_checks" else BaselineStateSerializer

    @extend_schema(request=RunChecksSerializer, responses={202: RunChecksResponseSerializer})
    def run_checks(self, request, pk=None):
        """Queue the project's checks (all by default); answers 202 at once with the queued runs."""
        project = self.get_object()
        if not project.can_run_checks(request.user):
            raise PermissionDenied("Only the team, a security officer or an administrator can run this project's checks.")
        serializer = RunChecksSerializer(data=request.data or {})
        serializer.is_valid(raise_exception=True)
        runs = services.queue_runs(project=project, keys=serializer.validated_data.get("checks"), actor=request.user)
        runs = CheckRun.objects.filter(pk__in=[r.pk for r in runs]).prefetch_related("evidence").select_related(
            "requested_by").order_by("definition_id")
        return Response({"check_runs": CheckRunSerializer(runs, many=True).data}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(methods=["GET"], request=None, responses=BaselineStateSerializer)
    @extend_schema(methods=["POST"], request=None, responses={202: BaselineStateSerializer})
    def artifact_baseline(self, request, pk=None):
        """GET the approved SHA-256 of each model artifact; POST queues their re-approval as they are now
        (202: a worker hashes them; `approval.status` says when the new baseline is in place)."""
        project = self.get_object()
        if request.method == "POST":
            services.baseline_approval_request(actor=request.user, project=project)
        baseline = ArtifactBaseline.objects.filter(project=project).select_related("approved_by").first()
        state = (BaselineSerializer(baseline).data if baseline else
                 {"project": project.pk, "artifacts": {}, "approved_by": None, "approved_at": None, "source_run": None})
        approval = BaselineApproval.objects.filter(project=project).select_related("requested_by").first()
        state = {**state, "approval": BaselineApprovalSerializer(approval).data if approval else None}
        return Response(state, status=status.HTTP_202_ACCEPTED if request.method == "POST" else status.HTTP_200_OK)
