from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from accounts.scope import ScopedViewSetMixin
from checks import services as check_services
from checks.api.serializers import (
    BaselineApprovalSerializer,
    BaselineSerializer,
    BaselineStateSerializer,
    CheckRunSerializer,
    RunChecksResponseSerializer,
    RunChecksSerializer,
)
from checks.models import ArtifactBaseline, BaselineApproval, CheckRun

from .. import services
from ..filtersets import AssessmentFilter, ProjectFilter, RiskAcceptanceFilter
from ..models import Answer, Assessment, Project, RiskAcceptance
from .serializers import (
    ANSWER_DEFAULTS,
    AnswerSerializer,
    ApproveSerializer,
    AssessmentDetailSerializer,
    AssessmentSerializer,
    ProjectSerializer,
    ReturnSerializer,
    RiskAcceptanceSerializer,
)


class ProjectViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    """ML projects in the user's scope. DELETE archives: history stays for the auditors."""

    serializer_class = ProjectSerializer
    filterset_class = ProjectFilter
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    queryset = Project.objects.active().select_related("team").order_by("team__name", "name")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        team = data.pop("team")
        serializer.instance = services.project_create(actor=self.request.user, team=team, **data)

    def update(self, request, *args, **kwargs):
        if not self.get_object().can_be_edited_by(request.user):
            raise PermissionDenied("Only the team's lead, a security officer or an administrator can edit this project.")
        return super().update(request, *args, **kwargs)

    def perform_update(self, serializer):
        serializer.instance = services.project_update(actor=self.request.user, project=serializer.instance,
                                                      **serializer.validated_data)

    def perform_destroy(self, instance):
        services.project_archive(actor=self.request.user, project=instance)

    @extend_schema(request=RunChecksSerializer, responses={202: RunChecksResponseSerializer})
    @action(detail=True, methods=["post"], url_path="run-checks")
    def run_checks(self, request, pk=None):
        """Queue the project's checks (all by default); answers 202 at once with the queued runs."""
        project = self.get_object()
        if not project.can_run_checks(request.user):
            raise PermissionDenied("Only the team, a security officer or an administrator can run this project's checks.")
        serializer = RunChecksSerializer(data=request.data or {})
        serializer.is_valid(raise_exception=True)
        runs = check_services.queue_runs(project=project, keys=serializer.validated_data.get("checks"),
                                         actor=request.user)
        runs = CheckRun.objects.filter(pk__in=[r.pk for r in runs]).prefetch_related("evidence").select_related(
            "requested_by").order_by("definition_id")
        return Response({"check_runs": CheckRunSerializer(runs, many=True).data}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(methods=["GET"], request=None, responses=BaselineStateSerializer)
    @extend_schema(methods=["POST"], request=None, responses={202: BaselineStateSerializer})
    @action(detail=True, methods=["get", "post"], url_path="artifact-baseline")
    def artifact_baseline(self, request, pk=None):
        """GET the approved SHA-256 of each model artifact; POST queues their re-approval as they are now
        (202: a worker hashes them; `approval.status` says when the new baseline is in place)."""
        project = self.get_object()
        if request.method == "POST":
            check_services.baseline_approval_request(actor=request.user, project=project)
        baseline = ArtifactBaseline.objects.filter(project=project).select_related("approved_by").first()
        state = (BaselineSerializer(baseline).data if baseline else
                 {"project": project.pk, "artifacts": {}, "approved_by": None, "approved_at": None, "source_run": None})
        approval = BaselineApproval.objects.filter(project=project).select_related("requested_by").first()
        state = {**state, "approval": BaselineApprovalSerializer(approval).data if approval else None}
        return Response(state, status=status.HTTP_202_ACCEPTED if request.method == "POST" else status.HTTP_200_OK)


class AssessmentViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                        viewsets.GenericViewSet):
    """Self-assessments and their workflow: draft → submitted → approved, or returned with a comment."""

    filterset_class = AssessmentFilter
    queryset = Assessment.objects.select_related("project__team", "submitted_by", "reviewed_by")

    def refine_queryset(self, queryset):
        queryset = queryset.with_completion().order_by("-created_at", "-pk")
        if self.action == "retrieve":
            answers = Answer.objects.select_related("practice", "updated_by").order_by("practice__number")
            queryset = queryset.prefetch_related(Prefetch("answers", queryset=answers))
        return queryset

    def get_serializer_class(self):
        return AssessmentDetailSerializer if self.action == "retrieve" else AssessmentSerializer

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        assessment = services.assessment_start(actor=request.user, **serializer.validated_data)
        return Response(self._detail(assessment), status=status.HTTP_201_CREATED)

    def _detail(self, assessment):
        fresh = self.get_queryset().get(pk=assessment.pk)
        return AssessmentSerializer(fresh, context=self.get_serializer_context()).data

    @extend_schema(request=None, responses=AssessmentSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        assessment = services.assessment_submit(actor=request.user, assessment=self.get_object())
        return Response(self._detail(assessment))

    @extend_schema(request=ApproveSerializer, responses=AssessmentSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        assessment = self.get_object()
        serializer = ApproveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        assessment = services.assessment_approve(actor=request.user, assessment=assessment,
                                                 comment=serializer.validated_data["comment"])
        return Response(self._detail(assessment))

    @extend_schema(request=ReturnSerializer, responses=AssessmentSerializer)
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_(self, request, pk=None):
        assessment = self.get_object()
        if not assessment.can_be_reviewed_by(request.user):
            raise PermissionDenied("Only a security officer outside the team can return this assessment.")
        serializer = ReturnSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        assessment = services.assessment_return(actor=request.user, assessment=assessment,
                                                comment=serializer.validated_data["comment"])
        return Response(self._detail(assessment))

    @extend_schema(request=AnswerSerializer, responses=AnswerSerializer,
                   parameters=[OpenApiParameter("code", str, OpenApiParameter.PATH, description="practice code")])
    @action(detail=True, methods=["get", "put", "patch"], url_path=r"answers/(?P<code>[A-Z]{3}-\d{2,3})",
            serializer_class=AnswerSerializer)
    def answer(self, request, pk=None, code=None):
        assessment = self.get_object()
        answer = get_object_or_404(
            Answer.objects.select_related("practice", "updated_by"), assessment=assessment, practice__code=code
        )
        if request.method == "GET":
            return Response(AnswerSerializer(answer).data)
        if not assessment.can_be_edited_by(request.user):
            raise PermissionDenied("Only members of the project's team can answer its assessment.")
        partial = request.method == "PATCH"
        serializer = AnswerSerializer(answer, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data) if partial else {**ANSWER_DEFAULTS, **serializer.validated_data}
        answer = services.answer_update(actor=request.user, answer=answer, **values)
        return Response(AnswerSerializer(answer).data)


class RiskAcceptanceViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                            mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Accepted risks: a lead proposes (justification, expiry), an officer outside the team decides."""

    serializer_class = RiskAcceptanceSerializer
    filterset_class = RiskAcceptanceFilter
    http_method_names = ["get", "post", "patch", "head", "options"]
    queryset = (RiskAcceptance.objects.select_related("project", "practice", "proposed_by", "approved_by", "decided_by")
                .order_by("-proposed_at", "-pk"))

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        if "status" in data:
            raise ValidationError({"status": ["A new risk acceptance is always proposed; an officer decides on it."]})
        data.pop("decision_note", None)
        serializer.instance = services.acceptance_propose(actor=self.request.user, **data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        acceptance = serializer.instance
        if "status" in data:
            serializer.instance = services.acceptance_decide(
                actor=self.request.user, acceptance=acceptance, status=data["status"], note=data.get("decision_note", "")
            )
        else:
            serializer.instance = services.acceptance_update(actor=self.request.user, acceptance=acceptance, **data)

    def update(self, request, *args, **kwargs):
        acceptance = self.get_object()
        user = request.user
        if not (acceptance.can_be_decided_by(user) or acceptance.can_be_proposed_by(user)):
            raise PermissionDenied("Only the team's lead or a security officer outside the team can change this.")
        return super().update(request, *args, **kwargs)
