from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from accounts.models import Team
from accounts.scope import ScopedViewSetMixin

from .. import services
from ..models import Campaign
from .serializers import CampaignSerializer


class CampaignViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Campaigns in the caller's scope; officers POST to launch one; the detail carries the progress per team."""

    serializer_class = CampaignSerializer
    queryset = Campaign.objects.all()

    def refine_queryset(self, queryset):
        return (queryset.select_related("created_by")
                .prefetch_related(Prefetch("teams", queryset=self.scoped(Team).order_by("name"))).order_by("-created_at"))

    def create(self, request, *args, **kwargs):
        if not Campaign.can_be_launched_by(request.user):
            raise PermissionDenied("Only a security officer or an administrator can launch a campaign.")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        teams = None if data.get("all_teams") or "teams" not in data else list(data["teams"])
        campaign = services.campaign_launch(actor=request.user, cycle=data["cycle"], deadline=data["deadline"],
                                            teams=teams, title=data.get("title", ""))
        return Response(self._detail(campaign), status=status.HTTP_201_CREATED)

    @extend_schema(responses=CampaignSerializer)
    def retrieve(self, request, *args, **kwargs):
        return Response(self._detail(self.get_object()))

    def _detail(self, campaign):
        user = self.request.user
        teams = list(campaign.teams.order_by("name"))
        if not user.sees_everything:
            teams = [t for t in teams if user.belongs_to(t.pk)]
        data = CampaignSerializer(campaign, context=self.get_serializer_context()).data
        data["progress"] = [{"team": p.team.slug, "not_started": p.not_started, "draft": p.draft,
                             "submitted": p.submitted, "approved": p.approved, "state": p.state}
                            for p in services.campaign_progress(campaign, teams=teams)]
        return data
