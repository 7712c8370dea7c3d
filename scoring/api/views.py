"""The scorecard API: today's document remembered and sent encoded, past days from the snapshots."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Team
from accounts.scope import ScopedView
from mlsec_portal.encoded import EncodedJSON
from mlsec_portal.renderers import ORJSONRenderer

from ..services import is_live, parse_as_of, remembered_live, scorecard_for
from .serializers import ScorecardSerializer, scorecard_payload


def encoded_scorecard(card) -> EncodedJSON:
    """Today's document as sent (JSON, gzip, ETag), built once per change and remembered (scoring/cache.py)."""
    return EncodedJSON.of(scorecard_payload(card))


class ScorecardView(ScopedView, APIView):
    """The 25-practice posture per team and for the organisation, live or as of a past day."""

    renderer_classes = [ORJSONRenderer]

    @extend_schema(
        description=(
            "Today's document (no `as_of`) carries a strong `ETag` and `Cache-Control: private, no-cache`; "
            "send it back in `If-None-Match` for a 304 while nothing in it changed. It is sent gzip-compressed "
            "(`Content-Encoding: gzip`, another ETag) to a client whose `Accept-Encoding` accepts gzip."),
        parameters=[
            OpenApiParameter("team", str, description="a team's slug (default: every team in your scope)"),
            OpenApiParameter("as_of", str, description="YYYY-MM-DD, not in the future (default: now)"),
            OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER, required=False,
                             description="the ETag of the document you hold: 304 without a body if it is current"),
        ],
        responses={200: ScorecardSerializer, 304: None},
    )
    def get(self, request):
        as_of = parse_as_of(request.query_params.get("as_of"))
        teams = self.scoped(Team).order_by("name")
        slug = request.query_params.get("team")
        if slug:
            teams = [get_object_or_404(teams, slug=slug)]
        if is_live(as_of):  # today's document, encoded once per change (scoring/cache.py)
            return remembered_live("api", teams, encoded_scorecard).response(request)
        return Response(scorecard_payload(scorecard_for(list(teams), as_of=as_of)))
