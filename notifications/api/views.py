"""The notification API: one's own list and preferences, and a team's channels."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Team
from accounts.scope import ScopedViewSetMixin

from .. import services
from ..models import Notification, TeamChannel
from .serializers import (
    MarkedSerializer,
    NotificationSerializer,
    PreferencesResponseSerializer,
    PreferencesSerializer,
    TeamChannelSerializer,
    UnreadSerializer,
)


class NotificationViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """The signed-in person's notifications, newest first; `?unread=true` for the unread ones."""

    serializer_class = NotificationSerializer
    queryset = Notification.objects.all()

    def refine_queryset(self, queryset):
        rows = queryset.for_list()
        unread = self.request.query_params.get("unread")
        if unread not in (None, "", "true", "false"):
            raise ValidationError({"unread": ["Use true or false."]})
        return rows.unread() if unread == "true" else rows

    @extend_schema(parameters=[OpenApiParameter("unread", bool)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=None, responses=NotificationSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        notification = self.get_object()
        services.notifications_mark_read(user=request.user, ids=[notification.pk])
        notification.refresh_from_db(fields=["read_at"])
        return Response(self.get_serializer(notification).data)

    @extend_schema(request=None, responses=MarkedSerializer)
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        return Response({"marked": services.notifications_mark_read(user=request.user)})

    @extend_schema(responses=UnreadSerializer)
    @action(detail=False, methods=["get"], url_path="unread-count")
    def unread_count(self, request):
        return Response({"unread": self.scoped(Notification).unread().count()})


class PreferencesView(APIView):
    """How the signed-in person hears of each event by e-mail: immediately, in a daily digest, or not."""

    @extend_schema(responses=PreferencesResponseSerializer)
    def get(self, request):
        return Response({"preferences": services.preferences_for(request.user)})

    @extend_schema(request=PreferencesSerializer, responses=PreferencesResponseSerializer)
    def patch(self, request):
        choices = request.data.get("preferences") if isinstance(request.data, dict) else None
        return Response({"preferences": services.preferences_update(user=request.user, choices=choices)})

    put = patch


class TeamChannelViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                         mixins.UpdateModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """`teams/{slug}/notification-channels/`: visible to whoever sees the team; changed by its leads,
    security officers and administrators."""

    serializer_class = TeamChannelSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    queryset = TeamChannel.objects.select_related("team")

    def team(self) -> Team:
        if not hasattr(self, "_team"):
            self._team = self.get_scoped_or_404(Team, slug=self.kwargs["team_slug"])
        return self._team

    def refine_queryset(self, queryset):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no team in the path
            return queryset.none()
        return queryset.filter(team=self.team())

    def _require_manager(self):
        if not TeamChannel.can_be_managed_by(self.request.user, self.team()):
            raise PermissionDenied("Only the team's leads and security officers can set its notification channels.")

    def create(self, request, *args, **kwargs):
        self._require_manager()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        channel = services.team_channel_create(actor=request.user, team=self.team(), **serializer.validated_data)
        return Response(self.get_serializer(channel).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        channel = self.get_object()
        self._require_manager()
        serializer = self.get_serializer(channel, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        fields.pop("kind", None)  # a channel keeps its kind: add another one instead
        channel = services.team_channel_update(actor=request.user, channel=channel, **fields)
        return Response(self.get_serializer(channel).data)

    def destroy(self, request, *args, **kwargs):
        channel = self.get_object()
        self._require_manager()
        services.team_channel_delete(actor=request.user, channel=channel)
        return Response(status=status.HTTP_204_NO_CONTENT)
