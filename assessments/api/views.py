from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from accounts.scope import ScopedViewSetMixin

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
