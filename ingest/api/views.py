"""Results from pipelines over the API (docs/ci.md).

`projects/{id}/results/`, `results/{id}/` and `projects/{id}/gate/` admit ingest tokens
(`ingest_token_view`); a token reaches only its own project (others answer 404). The token views
themselves are for the team's lead and security officers.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, negotiation, parsers, renderers, serializers, status
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from accounts.scope import ScopedView, get_scoped_or_404, scoped
from assessments.models import Project
from audit.services import audit_record

from .. import services
from ..gate import gate_policy, gate_verdict
from ..models import GatePolicy, IngestToken, ResultUpload
from ..oidc import CIIdentity
from ..tokens import can_manage_tokens, ci_identity_exchange, ingest_token_create, ingest_token_revoke
from ..uploads import limit_upload
from .serializers import (
    CIIdentityExchangedSerializer,
    GatePolicySerializer,
    GateSerializer,
    IngestTokenCreatedSerializer,
    IngestTokenCreateSerializer,
    IngestTokenSerializer,
    ResultsAcceptedSerializer,
    ResultsUploadSerializer,
    ResultUploadSerializer,
)


def ingest_token_of(request):
    """The pipeline credential of the request (an ingest token or a CI identity), or None for a person."""
    return request.auth if isinstance(request.auth, IngestToken | CIIdentity) else None


def project_for(request, pk: int) -> Project:
    """The project in the caller's scope: a token's own project only, a person's visible ones."""
    token = ingest_token_of(request)
    if token is not None:
        if token.project_id != pk:
            raise exceptions.NotFound()
        return token.project
    return get_scoped_or_404(request, Project, pk=pk)


class IngestTokenListView(ScopedView, APIView):
    """GET the project's ingest tokens; POST `{"name", "expires_on"}` makes one (key shown once)."""

    @extend_schema(responses=IngestTokenSerializer(many=True))
    def get(self, request, pk: int):
        project = self._managed(request, pk)
        tokens = IngestToken.objects.filter(project=project).select_related("created_by", "revoked_by")
        return Response(IngestTokenSerializer(tokens, many=True).data)

    @extend_schema(request=IngestTokenCreateSerializer, responses={201: IngestTokenCreatedSerializer})
    def post(self, request, pk: int):
        project = self._managed(request, pk)
        body = IngestTokenCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        token, key = ingest_token_create(actor=request.user, project=project, **body.validated_data)
        data = IngestTokenSerializer(token).data
        return Response({**data, "token": key}, status=status.HTTP_201_CREATED,
                        headers={"Cache-Control": "no-store"})

    @staticmethod
    def _managed(request, pk: int) -> Project:
        project = get_scoped_or_404(request, Project, pk=pk)
        if not can_manage_tokens(request.user, project):
            raise PermissionDenied("Only the team's lead or a security officer manage ingest tokens.")
        return project


class IngestTokenDetailView(ScopedView, APIView):
    """GET one token (never its key); DELETE revokes it (kept, marked revoked, audited)."""

    def _token(self, request, pk: int, tid: int) -> IngestToken:
        project = IngestTokenListView._managed(request, pk)
        return get_object_or_404(IngestToken.objects.select_related("project", "created_by", "revoked_by"),
                                 project=project, pk=tid)

    @extend_schema(responses=IngestTokenSerializer)
    def get(self, request, pk: int, tid: int):
        return Response(IngestTokenSerializer(self._token(request, pk, tid)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int, tid: int):
        ingest_token_revoke(actor=request.user, token=self._token(request, pk, tid))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CIIdentityExchangeView(APIView):
    """POST with `Authorization: Bearer <CI identity token>`: the token is used up, and exchanged for an
    ingest key of its project valid until the token's own expiry (for jobs that make several requests)."""

    ci_identity_exchange_view = True

    @extend_schema(request=None, responses={201: CIIdentityExchangedSerializer})
    def post(self, request):
        if not isinstance(request.auth, CIIdentity):
            raise PermissionDenied("Only a CI identity token (Authorization: Bearer <JWT>) is exchanged here.")
        token, key = ci_identity_exchange(request.auth)
        return Response({"token": key, "project": token.project_id, "expires_at": token.expires_at,
                         "ci_identity": token.ci_identity}, status=status.HTTP_201_CREATED,
                        headers={"Cache-Control": "no-store"})


class RawReportParser(parsers.BaseParser):
    """A JSON body is the report itself (read as bytes, never decoded into objects here)."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        from django.conf import settings

        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise exceptions.ParseError(f"A JSON body is limited to {limit // (1024 * 1024)} MB: send larger "
                                        "reports as multipart `file`.")
        return {"file": ContentFile(raw, name="report.json")}


class ReportFormatNegotiation(negotiation.DefaultContentNegotiation):
    """Here `?format=` names the report's format (docs/ci.md), not a renderer: always answer JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ResultsView(ScopedView, APIView):
    """POST a report (multipart `file` + `format`, …): 202 with a status URL; 400 naming what is wrong."""

    ingest_token_view = True
    parser_classes = [parsers.MultiPartParser, parsers.FormParser, RawReportParser]
    renderer_classes = [renderers.JSONRenderer]
    content_negotiation_class = ReportFormatNegotiation

    def initial(self, request, *args, **kwargs):
        # Before authentication, which may parse the body (a session's CSRF check): the size limit first.
        if request.method == "POST":
            limit_upload(request)
        super().initial(request, *args, **kwargs)

    @extend_schema(request={"multipart/form-data": ResultsUploadSerializer},
                   parameters=[OpenApiParameter("format", str, description="with a JSON body: the report's format")],
                   responses={202: ResultsAcceptedSerializer})
    def post(self, request, pk: int):
        project = project_for(request, pk)
        fields = {**request.query_params.dict(), **{k: v for k, v in request.data.items() if k != "file"}}
        body = ResultsUploadSerializer(data={**fields, "file": request.data.get("file")})
        body.is_valid(raise_exception=True)
        data = body.validated_data
        token = ingest_token_of(request)
        item = services.results_receive(
            user=request.user, token=token, project=project, upload=data.get("file"), fmt=data["format"],
            tool=data["tool"], commit=data["commit"], branch=data["branch"], build_id=data["build_id"],
            source=data["source"], artifact=data["artifact"])
        url = reverse("api-result", kwargs={"pk": item.pk}, request=request)
        return Response({"id": item.pk, "status": ResultUpload.objects.get(pk=item.pk).status, "status_url": url},
                        status=status.HTTP_202_ACCEPTED, headers={"Location": url})


class ResultDetailView(ScopedView, APIView):
    """GET the processing state of an upload: status, check runs, findings new and closed."""

    ingest_token_view = True

    @extend_schema(responses=ResultUploadSerializer)
    def get(self, request, pk: int):
        token = ingest_token_of(request)
        uploads = (ResultUpload.objects.filter(project_id=token.project_id) if token is not None
                   else scoped(request, ResultUpload))
        item = get_object_or_404(uploads.select_related("uploaded_by", "token").prefetch_related("check_runs"), pk=pk)
        return Response(ResultUploadSerializer(item).data)


class GateView(ScopedView, APIView):
    """GET `?commit=`: `{"verdict": "pass"|"fail", "reasons", "commit"}`, decided now."""

    ingest_token_view = True

    @extend_schema(parameters=[OpenApiParameter("commit", str, required=True)], responses=GateSerializer)
    def get(self, request, pk: int):
        project = project_for(request, pk)
        commit = request.query_params.get("commit", "").strip()
        if not services.COMMIT.match(commit):
            raise serializers.ValidationError({"commit": ["Give the commit: 7 to 64 hexadecimal characters."]})
        return Response(gate_verdict(project, commit))


class GatePolicyView(ScopedView, APIView):
    """GET the thresholds the gate reads; PUT replaces them (security officers and administrators)."""

    @extend_schema(responses=GatePolicySerializer)
    def get(self, request, pk: int):
        project = self.get_scoped_or_404(Project, pk=pk)
        return Response(GatePolicySerializer(gate_policy(project)).data)

    @extend_schema(request=GatePolicySerializer, responses=GatePolicySerializer)
    def put(self, request, pk: int):
        project = self.get_scoped_or_404(Project, pk=pk)
        if not GatePolicy.can_be_set_by(request.user):
            raise PermissionDenied("Only security officers and administrators set the gate's thresholds.")
        body = GatePolicySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with transaction.atomic():
            current = GatePolicy.objects.select_for_update().filter(project=project).first()
            before = GatePolicySerializer(current).data if current else None
            policy, _ = GatePolicy.objects.update_or_create(project=project, defaults={
                **body.validated_data, "updated_by": request.user})
            audit_record(actor=request.user, action="ingest.gate_policy_set", obj=policy, before=before,
                         after=dict(body.validated_data))
        return Response(GatePolicySerializer(policy).data)
