import gzip
import hashlib
import re
from dataclasses import dataclass

import orjson
from django.http import HttpResponse, HttpResponseNotModified
from django.shortcuts import get_object_or_404
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Team
from accounts.scope import ScopedView
from mlsec_portal.renderers import ORJSONRenderer

from ..services import is_live, parse_as_of, remembered_live, scorecard_for
from .serializers import ScorecardSerializer, scorecard_payload

ACCEPTS_GZIP = re.compile(r"\bgzip\b")


@dataclass(frozen=True)
class EncodedScorecard:
    """Today's document as sent: JSON, the same gzip-compressed (5.5 MB becomes a few hundred KB at 2,000
    teams, and every HTTP client asks for it), and a strong ETag of the JSON. Built once per change and
    remembered (scoring/cache.py), so a request only picks the right bytes."""

    body: bytes
    gzipped: bytes
    etag: str

    @classmethod
    def of(cls, card) -> "EncodedScorecard":
        body = orjson.dumps(scorecard_payload(card))
        return cls(body=body, gzipped=gzip.compress(body, compresslevel=6, mtime=0),
                   etag=f'"{hashlib.sha256(body).hexdigest()[:40]}"')

    def response(self, request) -> HttpResponse:
        """304 when the client already holds these bytes (If-None-Match), else the body, compressed if the
        client accepts gzip. Scoped data: private, and revalidated before every reuse."""
        if self.etag in parse_etags(request.META.get("HTTP_IF_NONE_MATCH", "")) or \
                request.META.get("HTTP_IF_NONE_MATCH", "").strip() == "*":
            response = HttpResponseNotModified()
        elif ACCEPTS_GZIP.search(request.META.get("HTTP_ACCEPT_ENCODING", "")):
            response = HttpResponse(self.gzipped, content_type="application/json")
            response["Content-Encoding"] = "gzip"
        else:
            response = HttpResponse(self.body, content_type="application/json")
        response["ETag"] = self.etag
        response["Cache-Control"] = "private, no-cache"
        patch_vary_headers(response, ("Accept-Encoding",))
        return response


class ScorecardView(ScopedView, APIView):
    """The 25-practice posture per team and for the organisation, live or as of a past day."""

    renderer_classes = [ORJSONRenderer]

    @extend_schema(
        parameters=[
            OpenApiParameter("team", str, description="a team's slug (default: every team in your scope)"),
            OpenApiParameter("as_of", str, description="YYYY-MM-DD, not in the future (default: now)"),
        ],
        responses=ScorecardSerializer,
    )
    def get(self, request):
        as_of = parse_as_of(request.query_params.get("as_of"))
        teams = self.scoped(Team).order_by("name")
        slug = request.query_params.get("team")
        if slug:
            teams = [get_object_or_404(teams, slug=slug)]
        if is_live(as_of):  # today's document, encoded once per change (scoring/cache.py)
            return remembered_live("api", teams, EncodedScorecard.of).response(request)
        return Response(scorecard_payload(scorecard_for(list(teams), as_of=as_of)))
