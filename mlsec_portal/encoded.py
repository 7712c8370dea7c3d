"""A JSON document encoded once and sent many times: the JSON, the same gzip-compressed, a strong ETag.

Today's scorecard (`scoring.api.views`) and the dashboard's heatmap (`scoring.views`) are built once per
change and remembered (`scoring/cache.py`); a request then only picks the right bytes. At 2,000 teams the
scorecard's 5.5 MB of JSON become about 290 KB of gzip, and a client that already holds them gets a 304.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass

import orjson
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags


def accepts_gzip(header: str) -> bool:
    """Whether an Accept-Encoding header accepts gzip (RFC 9110 12.5.3): `gzip` or `*` with a q above 0."""
    weights = {}
    for item in header.split(","):
        coding, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        weights[coding.strip().lower()] = q
    if "gzip" in weights or "x-gzip" in weights:
        return max(weights.get("gzip", 0.0), weights.get("x-gzip", 0.0)) > 0
    return weights.get("*", 0.0) > 0


def _opaque(tag: str) -> str:
    """An entity tag without its weakness mark: If-None-Match compares weakly (RFC 9110 13.1.2), so a
    proxy that weakened our tag still gets its 304."""
    return tag[2:] if tag.startswith("W/") else tag


@dataclass(frozen=True)
class EncodedJSON:
    """`etag` names the JSON; the gzip-compressed bytes are another representation and carry their own
    tag (`gzip_etag`), as RFC 9110 8.8.3 asks of strong tags. A client holding either gets a 304."""

    body: bytes
    gzipped: bytes
    etag: str

    @property
    def nbytes(self) -> int:
        return len(self.body) + len(self.gzipped)

    @property
    def gzip_etag(self) -> str:
        return self.etag[:-1] + '-gzip"'

    @classmethod
    def of(cls, document) -> EncodedJSON:
        body = orjson.dumps(document)
        return cls(body=body, gzipped=gzip.compress(body, compresslevel=6, mtime=0),
                   etag=f'"{hashlib.sha256(body).hexdigest()[:40]}"')

    def response(self, request: HttpRequest) -> HttpResponse:
        """304 when the client already holds these bytes (If-None-Match), else the body, compressed if the
        client accepts gzip. Scoped data: private, and revalidated before every reuse."""
        compressed = accepts_gzip(request.META.get("HTTP_ACCEPT_ENCODING", ""))
        etag = self.gzip_etag if compressed else self.etag
        if_none_match = request.META.get("HTTP_IF_NONE_MATCH", "")
        held = {_opaque(tag) for tag in parse_etags(if_none_match)}
        if if_none_match.strip() == "*" or held & {self.etag, self.gzip_etag}:
            response = HttpResponseNotModified()
        elif compressed:
            response = HttpResponse(self.gzipped, content_type="application/json")
            response["Content-Encoding"] = "gzip"
        else:
            response = HttpResponse(self.body, content_type="application/json")
        response["ETag"] = etag
        response["Cache-Control"] = "private, no-cache"
        patch_vary_headers(response, ("Accept-Encoding",))
        return response
