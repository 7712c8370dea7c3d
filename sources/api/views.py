"""`projects/{id}/sources/`, `…/test/`, `projects/{id}/sync/`, `projects/{id}/assets/` and `assets/`."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from accounts.scope import ScopedView, ScopedViewSetMixin
from assessments.models import Project

from .. import services
from ..models import Asset, Source
from .serializers import AssetSerializer, SourceSerializer, SourceTestSerializer, SyncResponseSerializer


class ProjectScoped(ScopedView):
    """The project in the URL, through the user's scope (404 outside it)."""

    def project(self) -> Project:
        if not hasattr(self, "_project"):
            self._project = self.get_scoped_or_404(Project.objects.select_related("team"), pk=self.kwargs["project_pk"])
        return self._project


class SourceViewSet(ScopedViewSetMixin, ProjectScoped, viewsets.GenericViewSet):
    """A project's sources: the team reads them; its lead, an officer or an administrator changes them."""

    serializer_class = SourceSerializer
    queryset = Source.objects.all()

    def refine_queryset(self, queryset):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no project
            return queryset.none()
        return queryset.filter(project=self.project()).for_list()

    def _editor(self):
        if not self.project().can_be_edited_by(self.request.user):
            raise PermissionDenied("Only the team's lead, a security officer or an administrator can change sources.")

    def list(self, request, project_pk=None):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, project_pk=None, pk=None):
        return Response(self.get_serializer(self.get_object()).data)

    def create(self, request, project_pk=None):
        self._editor()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        source = services.source_create(actor=request.user, project=self.project(), kind=data["kind"],
                                        name=data["name"], config=serializer.config_from(data["kind"]),
                                        credential=data.get("credential") or None)
        return Response(self.get_serializer(source).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, project_pk=None, pk=None):
        source = self.get_object()
        self._editor()
        serializer = self.get_serializer(source, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        credential = data.get("credential")
        source = services.source_update(actor=request.user, source=source, name=data.get("name"),
                                        config=serializer.config_from(source.kind), credential=credential or None,
                                        clear_credential=credential == {})
        return Response(self.get_serializer(source).data)

    def destroy(self, request, project_pk=None, pk=None):
        source = self.get_object()
        self._editor()
        services.source_delete(actor=request.user, source=source)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=SourceTestSerializer)
    @action(detail=True, methods=["post"])
    def test(self, request, project_pk=None, pk=None):
        """Try the connection now: `{"ok", "detail"}` within 10 s."""
        source = self.get_object()
        try:
            return Response(services.source_test(actor=request.user, source=source))
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from None


class ProjectSyncViewSet(ProjectScoped, viewsets.GenericViewSet):
    serializer_class = SyncResponseSerializer

    @extend_schema(request=None, responses={202: SyncResponseSerializer})
    def sync(self, request, project_pk=None):
        """List new model versions and objects of the project's sources and queue their scans (202)."""
        from ..assets import project_sync_request

        try:
            sources = project_sync_request(actor=request.user, project=self.project())
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from None
        return Response({"status": "queued", "sources": sources}, status=status.HTTP_202_ACCEPTED)


class ProjectAssetViewSet(ScopedViewSetMixin, ProjectScoped, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A project's models and datasets with their versions and verdicts."""

    serializer_class = AssetSerializer
    queryset = Asset.objects.all()

    def refine_queryset(self, queryset):
        if getattr(self, "swagger_fake_view", False):
            return queryset.none()
        return queryset.filter(project=self.project()).for_list()


class AssetViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Every model and dataset in the user's scope (`?project=` narrows)."""

    serializer_class = AssetSerializer
    queryset = Asset.objects.all()

    def refine_queryset(self, queryset):
        queryset = queryset.for_list()
        project = self.request.query_params.get("project")
        if project is not None:
            queryset = queryset.filter(project_id=project if project.isdigit() else -1)
        return queryset
