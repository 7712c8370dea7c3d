"""Loading the catalogue file and adding an organisation's own practices."""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max

from audit.services import audit_record

from .models import CatalogRelease, Framework, Practice, PracticeMapping, validate_levels

CATALOG_FILE = Path(__file__).resolve().parent / "catalog" / "mlsec-catalog.yaml"
PRACTICE_FIELDS = ("title", "category", "description", "weight", "levels", "evidence_guidance", "not_applicable_hint")


def read_catalog(path: Path = CATALOG_FILE) -> tuple[dict, str]:
    raw = path.read_bytes()
    data = yaml.safe_load(raw)
    if not isinstance(data, dict) or not {"catalog", "frameworks", "practices"} <= data.keys():
        raise ValidationError(f"{path}: not a catalogue file (needs catalog, frameworks and practices)")
    for item in data["practices"]:
        validate_levels(item.get("levels"))
    return data, hashlib.sha256(raw).hexdigest()


# Composable: `load_catalog` (and the container's start-up, run inside a transaction that holds the
# application role) loads the checks and frameworks beside it.
@transaction.atomic
def catalog_load(*, path: Path = CATALOG_FILE, actor=None) -> dict:
    """Bring the database in line with the catalogue file; a second run with the same file changes nothing.

    Returns counts of what changed. Practices that left the file are deactivated, never deleted,
    because answers and evidence refer to them.
    """
    data, sha256 = read_catalog(path)
    version = str(data["catalog"]["version"])
    counts = {"frameworks": 0, "practices_created": 0, "practices_updated": 0, "mappings_changed": 0}

    frameworks = {}
    for item in data["frameworks"]:
        fw, created = Framework.objects.get_or_create(
            key=item["key"], defaults={"name": item["name"], "version": str(item["version"])}
        )
        if not created and (fw.name, fw.version) != (item["name"], str(item["version"])):
            fw.name, fw.version = item["name"], str(item["version"])
            fw.save(update_fields=["name", "version"])
            created = True
        counts["frameworks"] += int(created)
        frameworks[fw.key] = fw

    existing = {p.code: p for p in Practice.objects.filter(is_custom=False)}
    seen = set()
    for item in data["practices"]:
        code = item["code"]
        seen.add(code)
        values = {name: item.get(name, "") for name in PRACTICE_FIELDS}
        practice = existing.get(code)
        if practice is None:
            practice = Practice.objects.create(code=code, number=item["number"], catalog_version=version, **values)
            counts["practices_created"] += 1
        else:
            changed = [n for n in PRACTICE_FIELDS if getattr(practice, n) != values[n]]
            if changed or not practice.is_active or practice.number != item["number"]:
                for name in changed:
                    setattr(practice, name, values[name])
                practice.number, practice.is_active, practice.catalog_version = item["number"], True, version
                practice.save()
                counts["practices_updated"] += 1
        counts["mappings_changed"] += _sync_mappings(practice, item.get("mappings", []), frameworks)
    Practice.objects.filter(is_custom=False).exclude(code__in=seen).update(is_active=False)

    release = CatalogRelease.objects.filter(version=version).first()
    if release is None or release.sha256 != sha256:
        CatalogRelease.objects.update_or_create(
            version=version,
            defaults={"title": data["catalog"].get("title", ""), "sha256": sha256, "practice_count": len(seen)},
        )
        CatalogRelease.forget_cached_version()
        audit_record(
            actor=actor, action="catalog.load", object_type="controls.catalogrelease",
            object_id=version, object_repr=f"catalogue {version}", after={"sha256": sha256, **counts},
        )
    return counts


def _sync_mappings(practice: Practice, items: list[dict], frameworks: dict[str, Framework]) -> int:
    wanted = {(frameworks[m["framework"]].pk, str(m["ref"])): m.get("title", "") for m in items}
    current = {(m.framework_id, m.ref): m for m in practice.mappings.all()}
    changes = 0
    for key, mapping in current.items():
        if key not in wanted:
            mapping.delete()
            changes += 1
        elif mapping.title != wanted[key]:
            mapping.title = wanted[key]
            mapping.save(update_fields=["title"])
            changes += 1
    for (framework_id, ref), title in wanted.items():
        if (framework_id, ref) not in current:
            PracticeMapping.objects.create(practice=practice, framework_id=framework_id, ref=ref, title=title)
            changes += 1
    return changes


@transaction.atomic(durable=True)
def practice_create_custom(*, actor, title: str, category: str, description: str, levels: list, weight: int = 2,
                           evidence_guidance: str = "") -> Practice:
    """An organisation's own practice, coded ORG-01, ORG-02 … and numbered after the catalogue."""
    if not Practice.can_be_created_by(actor):
        raise PermissionDenied("Only administrators add practices to the catalogue.")
    count = Practice.objects.filter(is_custom=True).count()
    top = Practice.objects.aggregate(top=Max("number"))["top"] or 0
    practice = Practice(
        code=f"ORG-{count + 1:02d}", number=max(top, 100) + 1, title=title, category=category,
        description=description, levels=levels, weight=weight, evidence_guidance=evidence_guidance,
        is_custom=True, catalog_version=CatalogRelease.current_version(),
    )
    practice.full_clean()
    practice.save()
    audit_record(actor=actor, action="practice.create", obj=practice,
                 after={"code": practice.code, "title": title, "weight": weight})
    return practice
