"""One place that makes a download safe to hand to a browser (evidence files and exports alike)."""

from urllib.parse import quote


def harden_download(response, filename: str, size: int):
    """An attachment that no browser renders, sniffs, frames or caches."""
    filename = "".join(ch for ch in filename if ch.isprintable()) or "download"  # no header injection
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    response["Content-Disposition"] = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    response["Content-Length"] = str(size)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Cache-Control"] = "private, no-store"
    return response
