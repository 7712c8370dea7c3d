"""OSV advisories in the database: the import command's writer and the dependency check's reader."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .models import Advisory, AdvisoryImport
from .runners.osv import iter_osv_records, normalize_name


class DatabaseAdvisorySource:
    """`AdvisorySource` backed by the Advisory table; one indexed query per package, cached per run."""

    def __init__(self) -> None:
        self._cache: dict[str, list[dict]] = {}
        self._count: int | None = None

    def for_package(self, normalized_name: str) -> list[dict]:
        if normalized_name not in self._cache:
            self._cache[normalized_name] = list(
                Advisory.objects.filter(package=normalized_name).values_list("record", flat=True)
            )
        return self._cache[normalized_name]

    def count(self) -> int:
        if self._count is None:
            self._count = Advisory.objects.count()
        return self._count


def _pypi_packages(record: dict) -> set[str]:
    names = set()
    for affected in record.get("affected") or []:
        package = affected.get("package") or {}
        if package.get("ecosystem") == "PyPI" and package.get("name"):
            names.add(normalize_name(package["name"]))
    return names


def _modified(record: dict) -> dt.datetime | None:
    value = parse_datetime(str(record.get("modified") or "").replace("Z", "+00:00"))
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, dt.UTC)
    return value


def import_advisories(path: str, *, batch: int = 2000) -> AdvisoryImport:
    """Load an OSV export (all.zip or a folder of OSV JSON) idempotently: PyPI advisories only.

    Re-importing the same data changes nothing; a newer `modified` replaces the stored record.
    Unparseable files are counted, never fatal.
    """
    errors: list[str] = []
    run = AdvisoryImport.objects.create(source=str(path)[:500])
    pending: list[Advisory] = []

    def flush(items: Iterable[Advisory]) -> int:
        items = list(items)
        if not items:
            return 0
        with transaction.atomic():
            Advisory.objects.bulk_create(
                items, update_conflicts=True, unique_fields=["osv_id", "package"],
                update_fields=["aliases", "summary", "record", "modified", "imported_at"],
            )
        return len(items)

    stored = read = 0
    for record in iter_osv_records(str(path), errors):
        read += 1
        osv_id = str(record.get("id") or "")[:80]
        if not osv_id:
            errors.append("record without id")
            continue
        for package in _pypi_packages(record):
            pending.append(Advisory(
                osv_id=osv_id, package=package[:200], aliases=list(record.get("aliases") or [])[:50],
                summary=str(record.get("summary") or "")[:2000], record=record, modified=_modified(record),
            ))
        if len(pending) >= batch:
            stored += flush(pending)
            pending = []
    stored += flush(pending)
    run.records_read, run.advisories_stored, run.errors = read, stored, len(errors)
    run.finished_at = timezone.now()
    run.save(update_fields=["records_read", "advisories_stored", "errors", "finished_at"])
    return run
