"""Loading the framework files: idempotent, brought in line with a changed file, and all-or-nothing."""

import shutil
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.exceptions import ValidationError
from django.core.management import call_command

from audit.models import AuditEvent
from frameworks.loader import DATA_DIR, FILES, framework_load, frameworks_load
from frameworks.models import Applicability, Framework, Requirement, RequirementPractice


def snapshot() -> tuple:
    return (list(Framework.objects.values_list("key", "version", "file_sha256")),
            sorted(Requirement.objects.values_list("framework__key", "ref", "title", "parent__ref", "depth")),
            sorted(RequirementPractice.objects.values_list("requirement__ref", "practice__code", "direct")),
            sorted(Applicability.objects.values_list("requirement__ref", "role", "risk_class")))


def test_a_second_load_changes_nothing_and_records_nothing(db):
    before, events = snapshot(), AuditEvent.objects.count()
    results = frameworks_load()
    assert all(not any(v for k, v in r.items() if k != "framework") for r in results)
    assert snapshot() == before and AuditEvent.objects.count() == events


def test_the_fixtures_hold_every_framework_with_its_requirements(db):
    assert Framework.objects.count() == 7
    assert Requirement.objects.filter(framework__key="nist-ai-rmf").count() == 95
    article = Requirement.objects.get(framework__key="eu-ai-act", ref="Article 10(5)(b)")
    assert article.parent.ref == "Article 10(5)" and article.parent.parent.ref == "Article 10"
    links = dict(RequirementPractice.objects.filter(requirement__ref="Article 10", requirement__framework__key="eu-ai-act")
                 .values_list("practice__code", "direct"))
    assert links["MLS-11"] is True and links["MLS-16"] is False  # its own mapping, and one from 10(5)(b)


@pytest.fixture
def edited(tmp_path):
    """A copy of the NIST AI RMF file to change."""
    path = tmp_path / "nist-ai-rmf-1.0.yaml"
    shutil.copy(DATA_DIR / FILES[0], path)
    return path


def rewrite(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def find(items, ref):
    for item in items:
        if item["ref"] == ref:
            return item
        found = find(item.get("children") or [], ref)
        if found:
            return found
    return None


def test_a_changed_file_brings_the_database_in_line(db, edited):
    def change(data):
        find(data["requirements"], "GOVERN 1.1")["title"] = "Laws that apply to AI are known"
        govern_1 = find(data["requirements"], "GOVERN 1")
        govern_1["children"] = [c for c in govern_1["children"] if c["ref"] != "GOVERN 1.7"]
        find(data["requirements"], "MEASURE 2.7")["practices"] = ["MLS-01"]
    rewrite(edited, change)
    counts = framework_load(path=edited, position=0)
    assert counts["requirements_updated"] >= 1 and counts["requirements_deleted"] == 1 and counts["mappings_changed"]
    assert Requirement.objects.get(framework__key="nist-ai-rmf", ref="GOVERN 1.1").title == "Laws that apply to AI are known"
    assert not Requirement.objects.filter(framework__key="nist-ai-rmf", ref="GOVERN 1.7").exists()
    assert set(RequirementPractice.objects.filter(requirement__ref="MEASURE 2.7").values_list("practice__code",
                                                                                              flat=True)) == {"MLS-01"}
    assert AuditEvent.objects.filter(action="frameworks.load", object_id="nist-ai-rmf").exists()
    assert framework_load(path=edited, position=0)["requirements_updated"] == 0  # and again: nothing


@pytest.mark.parametrize("change, message", [
    (lambda d: find(d["requirements"], "GOVERN 1.1").update(practices=["MLS-99"]), "not in the catalogue"),
    (lambda d: find(d["requirements"], "GOVERN 1.1").update(ref="GOVERN 1.2"), "used twice"),
    (lambda d: find(d["requirements"], "GOVERN 1.1").update(applies=["everyone"]), "unknown applicability"),
    (lambda d: find(d["requirements"], "GOVERN 1.1").update(title=""), "title"),
    (lambda d: find(d["requirements"], "GOVERN 1.1").update(colour="red"), "unknown keys"),
    (lambda d: d.pop("framework"), "framework"),
])
def test_a_broken_file_is_refused_whole_and_changes_nothing(db, edited, change, message):
    before = snapshot()
    rewrite(edited, change)
    with pytest.raises(ValidationError, match=message):
        framework_load(path=edited, position=0)
    assert snapshot() == before


def test_load_catalog_loads_the_frameworks_too_and_load_frameworks_alone_reports(db):
    Framework.objects.all().delete()
    out = StringIO()
    call_command("load_catalog", stdout=out)
    assert "framework requirements loaded: nist-ai-rmf" in out.getvalue()
    assert Framework.objects.count() == 7
    out = StringIO()
    call_command("load_frameworks", stdout=out)
    assert "eu-ai-act: 0 requirements created" in out.getvalue()
