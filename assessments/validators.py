"""Validation of a project's check targets: the only paths and URLs the check workers will touch."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

TARGET_KEYS = {"source_path": str, "dependency_files": list, "model_artifacts": list, "datasets": list, "endpoint_url": str}
PATH_LIST_MAX = 50
_CYCLE = re.compile(r"^20\d{2}-(Q[1-4]|H[12]|FY)$")


def _validate_path(value, field: str, allow_glob: bool) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{field}: each entry must be a non-empty path.")
    if len(value) > 1024 or "\x00" in value or "\n" in value:
        raise ValidationError(f"{field}: '{value[:60]}' is not a valid path.")
    if not value.startswith("/"):
        raise ValidationError(f"{field}: '{value}' must be an absolute path on the check workers.")
    if ".." in value.split("/"):
        raise ValidationError(f"{field}: '{value}' must not contain '..'.")
    if not allow_glob and any(ch in value for ch in "*?["):
        raise ValidationError(f"{field}: '{value}' must be a plain path, not a pattern.")


def validate_endpoint_url(value: str) -> None:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        raise ValidationError("endpoint_url: this is not a valid URL.") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValidationError("endpoint_url: an http:// or https:// URL with a host is required.")
    if parts.username or parts.password:
        raise ValidationError("endpoint_url: credentials must not be stored in the URL.")
    if len(value) > 2048:
        raise ValidationError("endpoint_url: at most 2048 characters.")


def validate_check_targets(value) -> None:
    """`{source_path, dependency_files[], model_artifacts[], datasets[], endpoint_url}`, every key optional."""
    if not isinstance(value, dict):
        raise ValidationError("An object with source_path, dependency_files, model_artifacts, datasets and endpoint_url is required.")
    unknown = sorted(set(value) - set(TARGET_KEYS))
    if unknown:
        raise ValidationError(f"Unknown keys: {', '.join(unknown)}.")
    for key, kind in TARGET_KEYS.items():
        item = value.get(key)
        if item in (None, "", []):
            continue
        if not isinstance(item, kind):
            raise ValidationError(f"{key}: a {'list of paths' if kind is list else 'string'} is required.")
    if value.get("source_path"):
        _validate_path(value["source_path"], "source_path", allow_glob=False)
    for key, allow_glob in (("dependency_files", False), ("model_artifacts", True), ("datasets", True)):
        items = value.get(key) or []
        if len(items) > PATH_LIST_MAX:
            raise ValidationError(f"{key}: at most {PATH_LIST_MAX} entries.")
        for item in items:
            _validate_path(item, key, allow_glob)
    if value.get("endpoint_url"):
        validate_endpoint_url(value["endpoint_url"])


def validate_check_opt_outs(value) -> None:
    """`{check_key: reason}`; a project may opt out of a check only with a reason."""
    from checks.registry import check_keys

    if not isinstance(value, dict):
        raise ValidationError("An object mapping check keys to reasons is required.")
    for key, reason in value.items():
        if key not in check_keys():
            raise ValidationError(f"Unknown check '{key}'.")
        if not isinstance(reason, str) or len(reason.strip()) < 10:
            raise ValidationError(f"{key}: give a reason of at least 10 characters.")


NA_WITH_LEVEL = "Choose a level or not applicable, not both."
NA_WITHOUT_JUSTIFICATION = "Not applicable needs a justification."


def validate_answer_applicability(*, not_applicable, level, justification) -> None:
    """The not-applicable rule, the one definition read by `Answer.clean` (so the service), the assessment
    form and the API serializer: an answer marked not applicable has no level and says why."""
    if not not_applicable:
        return
    errors = {}
    if level is not None:
        errors["level"] = [NA_WITH_LEVEL]
    if not (justification or "").strip():
        errors["justification"] = [NA_WITHOUT_JUSTIFICATION]
    if errors:
        raise ValidationError(errors)


def answer_is_answered(*, not_applicable, level, justification) -> bool:
    """Answered: a level, or not applicable with a justification (the database's twin is
    `AssessmentQuerySet.with_completion`)."""
    if not_applicable:
        return bool((justification or "").strip())
    return level not in (None, "")


def validate_cycle(value: str) -> None:
    if not isinstance(value, str) or not _CYCLE.match(value):
        raise ValidationError("A cycle looks like 2026-Q4, 2026-H2 or 2026-FY.")


def cycle_period(value: str) -> tuple[dt.date, dt.date]:
    """The first and last day a cycle covers: 2026-Q4 → (2026-10-01, 2026-12-31)."""
    validate_cycle(value)
    year, part = int(value[:4]), value[5:]
    if part == "FY":
        first_month, months = 1, 12
    elif part[0] == "H":
        first_month, months = 1 + 6 * (int(part[1]) - 1), 6
    else:
        first_month, months = 1 + 3 * (int(part[1]) - 1), 3
    start = dt.date(year, first_month, 1)
    end_month = first_month + months
    end = (dt.date(year + 1, 1, 1) if end_month > 12 else dt.date(year, end_month, 1)) - dt.timedelta(days=1)
    return start, end


def cycle_rank(value: str) -> tuple[dt.date, dt.date]:
    """Orders cycles from older to newer: by the day they end, then the later start (Q4 after H2 after FY)."""
    start, end = cycle_period(value)
    return end, start


def cycle_start(value: str) -> dt.datetime:
    """The first moment of a cycle (UTC): 2026-Q4 → 1 October 2026, 2026-H2 → 1 July, 2026-FY → 1 January."""
    first, _ = cycle_period(value)
    return dt.datetime(first.year, first.month, first.day, tzinfo=dt.UTC)
