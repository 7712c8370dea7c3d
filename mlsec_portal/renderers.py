"""Fast JSON for the large, plain documents (the scorecard: 5,000 cells at 200 teams)."""

import orjson
from rest_framework.renderers import JSONRenderer


class ORJSONRenderer(JSONRenderer):
    """Same media type and output shape as DRF's JSONRenderer, for plain dict/list/str/number payloads."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        return orjson.dumps(data)
