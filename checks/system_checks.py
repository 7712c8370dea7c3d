"""Start-up checks (`manage.py check`): configuration that would silently disable a boundary."""

from __future__ import annotations

from django.conf import settings
from django.core import checks


@checks.register("mlsec")
def check_roots_and_networks(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    from .confinement import protected_paths, root_refusal
    from .runners.netguard import parse_networks

    messages: list[checks.CheckMessage] = []
    protected = protected_paths()
    for root in settings.MLSEC_CHECK_ROOTS:
        why = root_refusal(root, protected)
        if why:
            messages.append(checks.Warning(
                f"MLSEC_CHECK_ROOTS entry {root} is not used: {why}.",
                hint="Give the checks a directory of their own, e.g. /srv/check-targets, with one directory "
                     "per team slug inside it.", id="mlsec.W001"))
    for value in settings.MLSEC_CHECK_ALLOWED_NETWORKS:
        try:
            parse_networks([value])
        except ValueError as exc:
            messages.append(checks.Error(f"MLSEC_CHECK_ALLOWED_NETWORKS: {exc}.", id="mlsec.E001"))
    return messages
