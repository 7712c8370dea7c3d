"""Loading the framework data files (frameworks/data/*.yaml) into the database, idempotently.

A file is checked whole before anything is written: its shape, unique identifiers, practice codes that
exist in the catalogue, and (for the EU AI Act) applicability profiles that exist. A second load of an
unchanged file changes nothing; a changed file brings the database in line with it. Requirements are
the framework's own, referenced by nothing else, so those that left the file are deleted.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction

from audit.services import audit_record
from controls.models import Practice

from .models import Applicability, Framework, Requirement, RequirementPractice

DATA_DIR = Path(__file__).resolve().parent / "data"
# Load order is display order.
FILES = (
    "nist-ai-rmf-1.0.yaml", "iso-iec-42001-2023.yaml", "iso-iec-27001-2022.yaml", "eu-ai-act-2024.yaml",
    "owasp-ml-top10-2023.yaml", "owasp-llm-top10-2025.yaml", "mitre-atlas-5.6.1.yaml",
)
FRAMEWORK_FIELDS = ("key", "title", "short_title", "version", "levels", "catalogue_keys")
NODE_KEYS = {"ref", "title", "children", "practices", "applies", "version", "note"}


@dataclass
class Node:
    ref: str
    title: str
    parent: str | None
    depth: int
    version: str = ""
    note: str = ""
    practices: list[str] = field(default_factory=list)
    applies: list[str] | None = None


@dataclass
class FrameworkFile:
    name: str
    sha256: str
    header: dict
    nodes: list[Node]  # depth first, in file order

    @property
    def profiles(self) -> dict:
        return (self.header.get("applicability") or {}).get("profiles") or {}


def _fail(name: str, message: str) -> ValidationError:
    return ValidationError(f"{name}: {message}")


def read_framework_file(path: Path) -> FrameworkFile:
    """Parse and check one data file; ValidationError naming the file and the problem."""
    raw = path.read_bytes()
    data = yaml.safe_load(raw)
    name = path.name
    if not isinstance(data, dict) or not isinstance(data.get("framework"), dict) or not isinstance(
            data.get("requirements"), list):
        raise _fail(name, "needs a `framework` mapping and a `requirements` list")
    header = data["framework"]
    missing = [k for k in FRAMEWORK_FIELDS if not header.get(k)]
    if missing:
        raise _fail(name, f"the framework lacks {', '.join(missing)}")
    nodes: list[Node] = []
    _walk(name, data["requirements"], None, 0, nodes)
    refs = [n.ref for n in nodes]
    duplicates = sorted({r for r in refs if refs.count(r) > 1})
    if duplicates:
        raise _fail(name, f"identifiers used twice: {', '.join(duplicates)}")
    result = FrameworkFile(name=name, sha256=hashlib.sha256(raw).hexdigest(), header=header, nodes=nodes)
    unknown = sorted({p for n in nodes for p in (n.applies or ()) if p not in result.profiles})
    if unknown:
        raise _fail(name, f"unknown applicability profiles: {', '.join(unknown)}")
    if any(n.applies for n in nodes) and not result.profiles:
        raise _fail(name, "`applies` needs framework.applicability.profiles")
    return result


def _walk(name: str, items, parent: str | None, depth: int, out: list[Node]) -> None:
    if not isinstance(items, list):
        raise _fail(name, f"children of {parent} must be a list")
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("ref"), str) or not isinstance(item.get("title"), str):
            raise _fail(name, f"every requirement needs a ref and a title (under {parent or 'the top'})")
        ref, title = item["ref"].strip(), item["title"].strip()
        if not ref or len(ref) > 60 or not title or len(title) > 300 or "\n" in title:
            raise _fail(name, f"requirement {ref!r}: ref of 1-60 and title of 1-300 characters on one line")
        extra = set(item) - NODE_KEYS
        if extra:
            raise _fail(name, f"requirement {ref}: unknown keys {', '.join(sorted(extra))}")
        practices = item.get("practices") or []
        applies = item.get("applies")
        if not isinstance(practices, list) or not all(isinstance(p, str) for p in practices):
            raise _fail(name, f"requirement {ref}: practices must be a list of codes")
        if applies is not None and (not isinstance(applies, list) or not all(isinstance(p, str) for p in applies)):
            raise _fail(name, f"requirement {ref}: applies must be a list of profile names")
        out.append(Node(ref=ref, title=title, parent=parent, depth=depth, version=str(item.get("version") or ""),
                        note=str(item.get("note") or ""), practices=list(practices), applies=applies))
        _walk(name, item.get("children") or [], ref, depth + 1, out)


def closure(nodes: list[Node]) -> dict[str, set[str]]:
    """ref → the practice codes mapped to it or to any of its descendants."""
    result = {n.ref: set(n.practices) for n in nodes}
    for node in reversed(nodes):  # depth first: every child comes after its parent
        if node.parent is not None:
            result[node.parent] |= result[node.ref]
    return result


def applicability(file: FrameworkFile) -> dict[str, set[tuple[str, str]]]:
    """ref → the (role, risk class) pairs it binds: its own `applies`, else its parent's; a node that has
    neither (a chapter, a section) binds whatever its descendants bind."""
    if not file.profiles:
        return {}
    combos = {name: {(r, c) for r in spec.get("roles") or () for c in spec.get("risk_classes") or ()}
              for name, spec in file.profiles.items()}
    result: dict[str, set[tuple[str, str]]] = {}
    for node in file.nodes:  # parents first
        if node.applies is not None:
            result[node.ref] = set().union(*(combos[p] for p in node.applies))
        else:
            result[node.ref] = set(result.get(node.parent, set())) if node.parent else set()
    own = {n.ref for n in file.nodes if n.applies is not None}
    for node in reversed(file.nodes):  # children first
        if node.parent is not None and node.parent not in own:
            result[node.parent] |= result[node.ref]
    return result


@transaction.atomic
def framework_load(*, path: Path, position: int = 0, actor=None) -> dict:
    """Bring one framework in line with its data file; returns what changed (all zero when nothing did)."""
    file = read_framework_file(path)
    header = file.header
    codes = {code for node in file.nodes for code in node.practices}
    practices = {p.code: p for p in Practice.objects.filter(code__in=codes, is_custom=False)}
    unknown = sorted(codes - set(practices))
    if unknown:
        raise _fail(file.name, f"practices not in the catalogue: {', '.join(unknown)} (run load_catalog first)")
    counts = {"framework": header["key"], "requirements_created": 0, "requirements_updated": 0,
              "requirements_deleted": 0, "mappings_changed": 0, "applicability_changed": 0}
    framework, created = Framework.objects.get_or_create(key=header["key"], defaults=_framework_values(file, position))
    if not created and framework.file_sha256 == file.sha256 and framework.position == position:
        return counts
    for name, value in _framework_values(file, position).items():
        setattr(framework, name, value)
    framework.save()
    by_ref = _sync_requirements(framework, file.nodes, counts)
    counts["mappings_changed"] = _sync_mappings(framework, file, by_ref, practices)
    counts["applicability_changed"] = _sync_applicability(framework, file, by_ref)
    audit_record(actor=actor, action="frameworks.load", object_type="frameworks.framework", object_id=framework.key,
                 object_repr=str(framework), after={"sha256": file.sha256, "file": file.name, **counts})
    return counts


def _framework_values(file: FrameworkFile, position: int) -> dict:
    header = file.header
    return {"title": str(header["title"]), "short_title": str(header["short_title"]), "version": str(header["version"]),
            "publisher": str(header.get("publisher") or ""), "source": str(header.get("source") or ""),
            "levels": list(header["levels"]), "gated": bool(file.profiles), "position": position,
            "file_name": file.name, "file_sha256": file.sha256}


def _sync_requirements(framework: Framework, nodes: list[Node], counts: dict) -> dict[str, Requirement]:
    existing = {r.ref: r for r in framework.requirements.all()}
    wanted = {n.ref for n in nodes}
    stale = [r.pk for ref, r in existing.items() if ref not in wanted]
    if stale:
        Requirement.objects.filter(pk__in=stale).update(parent=None)
        counts["requirements_deleted"] = Requirement.objects.filter(pk__in=stale).delete()[1].get(
            Requirement._meta.label, 0)
    by_ref: dict[str, Requirement] = {}
    for position, node in enumerate(nodes):
        values = {"title": node.title, "parent": by_ref.get(node.parent) if node.parent else None, "depth": node.depth,
                  "position": position, "version": node.version, "note": node.note}
        requirement = existing.get(node.ref)
        if requirement is None:
            requirement = Requirement.objects.create(framework=framework, ref=node.ref, **values)
            counts["requirements_created"] += 1
        elif any(getattr(requirement, k) != v for k, v in values.items()):
            for name, value in values.items():
                setattr(requirement, name, value)
            requirement.save()
            counts["requirements_updated"] += 1
        by_ref[node.ref] = requirement
    return by_ref


def _sync_mappings(framework, file: FrameworkFile, by_ref: dict[str, Requirement], practices: dict) -> int:
    direct = {(n.ref, code) for n in file.nodes for code in n.practices}
    wanted = {(by_ref[ref].pk, practices[code].pk, (ref, code) in direct)
              for ref, codes in closure(file.nodes).items() for code in codes}
    links = RequirementPractice.objects.filter(requirement__framework=framework)
    current = set(links.values_list("requirement_id", "practice_id", "direct"))
    if current == wanted:
        return 0
    links.delete()
    RequirementPractice.objects.bulk_create(
        [RequirementPractice(requirement_id=r, practice_id=p, direct=d) for r, p, d in sorted(wanted)])
    return len(current ^ wanted)


def _sync_applicability(framework, file: FrameworkFile, by_ref: dict[str, Requirement]) -> int:
    wanted = {(by_ref[ref].pk, role, risk_class)
              for ref, pairs in applicability(file).items() for role, risk_class in pairs}
    rows = Applicability.objects.filter(requirement__framework=framework)
    current = set(rows.values_list("requirement_id", "role", "risk_class"))
    if current == wanted:
        return 0
    rows.delete()
    Applicability.objects.bulk_create([Applicability(requirement_id=r, role=role, risk_class=c)
                                       for r, role, c in sorted(wanted)])
    return len(current ^ wanted)


def frameworks_load(*, actor=None, data_dir: Path = DATA_DIR) -> list[dict]:
    """Load every framework file in display order (see FILES)."""
    return [framework_load(path=data_dir / name, position=index, actor=actor) for index, name in enumerate(FILES)]
