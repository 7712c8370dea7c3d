"""Checks on the catalogue data file itself: shape, rubric, categories, weights and framework mappings.

Plain pytest, no Django and no database: the file must be right before `load_catalog` ever reads it.
The cross-check against the shared framework-mappings.yaml runs only where that directory exists
(MLSEC_SHARED_DIR, default ../shared next to the repository); in CI it is skipped.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_COPY = Path(__file__).resolve().parent / "data" / "framework-mappings.yaml"
CATALOG_PATH = Path(__file__).resolve().parents[1] / "catalog" / "mlsec-catalog.yaml"
CATALOG = yaml.safe_load(CATALOG_PATH.read_text(encoding="utf-8"))
PRACTICES = CATALOG["practices"]
CODES = [p.get("code", f"#{i}") for i, p in enumerate(PRACTICES)]

CATEGORIES = {
    "Data protection",
    "Identity and access",
    "Supply chain and development",
    "Model inputs and outputs",
    "Monitoring and detection",
    "Governance and people",
}

REF_FORMATS = {
    "nist-ai-rmf": r"^(GOVERN|MAP|MEASURE|MANAGE) \d+\.\d+$",
    "iso-42001": r"^(A\.\d+(\.\d+)+|\d+\.\d+)$",
    "iso-27001": r"^A\.[5-8]\.\d+$",
    "owasp-ml-top10": r"^ML(0[1-9]|10):2023$",
    "owasp-llm-top10": r"^LLM(0[1-9]|10):2025$",
    "mitre-atlas": r"^AML\.M\d{4}$",
    "mitre-atlas-2026": r"^AML\.M\d{4}$",
    "eu-ai-act": r"^Article \d+(\(\d+\))*(\([a-z]\))?$",
    "gdpr": r"^Article \d+(\(\d+\))?(\([a-z]\))?$",
    "google-saif": r"^control[A-Z][A-Za-z]+$",
    "cosai-risk-map": r"^control[A-Z][A-Za-z]+$",
}

# Catalogue framework key -> key in the shared framework-mappings.yaml (identifiers under "id").
SHARED_KEYS = {
    "nist-ai-rmf": "nist_ai_rmf_1_0",
    "iso-42001": "iso_iec_42001_2023",
    "iso-27001": "iso_iec_27001_2022",
    "owasp-ml-top10": "owasp_ml_top10_2023",
    "owasp-llm-top10": "owasp_llm_top10_2025",
    "mitre-atlas": "mitre_atlas",
    "mitre-atlas-2026": "mitre_atlas",
    "google-saif": "google_saif",
    "cosai-risk-map": "cosai_risk_map",
}
# Frameworks whose own names are carried verbatim from the shared file into mapping titles.
NAMED_FROM_SHARED = set(SHARED_KEYS) - {"nist-ai-rmf"}

per_practice = pytest.mark.parametrize("practice", PRACTICES, ids=CODES)


def test_the_file_has_the_catalog_header_frameworks_and_practices():
    assert set(CATALOG) == {"catalog", "frameworks", "practices"}
    header = CATALOG["catalog"]
    for field in ("version", "title", "published", "source"):
        assert isinstance(header.get(field), str) and header[field].strip(), field
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", header["published"])


def test_every_framework_is_declared_once_with_a_name_and_a_version():
    keys = [fw["key"] for fw in CATALOG["frameworks"]]
    assert len(keys) == len(set(keys)), Counter(keys).most_common(3)
    for fw in CATALOG["frameworks"]:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", fw["key"]), fw
        assert isinstance(fw.get("name"), str) and fw["name"].strip(), fw
        assert isinstance(fw.get("version"), str) and fw["version"].strip(), fw


def test_every_declared_framework_is_used_and_has_a_known_ref_format():
    declared = {fw["key"] for fw in CATALOG["frameworks"]}
    used = {m["framework"] for p in PRACTICES for m in p["mappings"]}
    assert declared == used
    assert declared <= set(REF_FORMATS)


def test_there_are_25_practices_in_seed_order():
    assert [p["number"] for p in PRACTICES] == list(range(1, 26))
    assert [p["code"] for p in PRACTICES] == [f"MLS-{n:02d}" for n in range(1, 26)]


def test_titles_are_unique():
    titles = [p["title"].lower() for p in PRACTICES]
    assert len(titles) == len(set(titles))


@per_practice
def test_title_is_short_and_in_sentence_case(practice):
    title = practice["title"]
    assert isinstance(title, str) and 0 < len(title) <= 80
    first, *rest = title.split()
    assert first[0].isupper()
    for word in rest:  # later words are lower case unless they are acronyms such as ML or API(s)
        assert word.islower() or re.fullmatch(r"[A-Z]{2,}s?", word), f"{title!r}: {word!r}"


@per_practice
def test_category_is_one_of_the_six(practice):
    assert practice["category"] in CATEGORIES


def test_every_category_is_used():
    assert {p["category"] for p in PRACTICES} == CATEGORIES


@per_practice
def test_weight_is_an_integer_from_1_to_3(practice):
    weight = practice["weight"]
    assert type(weight) is int and 1 <= weight <= 3


@per_practice
def test_prose_fields_are_filled_in(practice):
    assert isinstance(practice["description"], str) and len(practice["description"]) >= 100
    assert isinstance(practice["evidence_guidance"], str) and practice["evidence_guidance"].strip()
    assert isinstance(practice["not_applicable_hint"], str)


@per_practice
def test_rubric_has_exactly_levels_0_to_4_with_one_line_summaries(practice):
    levels = practice["levels"]
    assert [item["level"] for item in levels] == [0, 1, 2, 3, 4]
    for item in levels:
        summary = item["summary"]
        assert isinstance(summary, str) and summary.strip(), item
        assert "\n" not in summary and len(summary) <= 160, item
    assert levels[0]["summary"].startswith("No practice and no evidence")


def test_federated_learning_is_marked_as_an_optional_architecture_choice():
    fl = PRACTICES[13]
    assert fl["code"] == "MLS-14"
    assert fl["weight"] == 1
    assert "architecture choice" in fl["description"]
    assert "not applicable" in fl["description"]
    assert "pooled" in fl["not_applicable_hint"]


@per_practice
def test_mappings_use_declared_frameworks_and_their_identifier_formats(practice):
    declared = {fw["key"] for fw in CATALOG["frameworks"]}
    assert practice["mappings"], "a practice without mappings"
    for mapping in practice["mappings"]:
        assert set(mapping) == {"framework", "ref", "title"}, mapping
        assert mapping["framework"] in declared, mapping
        ref_format = REF_FORMATS[mapping["framework"]]
        assert isinstance(mapping["ref"], str) and re.fullmatch(ref_format, mapping["ref"]), mapping
        assert isinstance(mapping["title"], str) and mapping["title"].strip(), mapping


@per_practice
def test_mappings_are_not_duplicated_within_a_practice(practice):
    pairs = Counter((m["framework"], m["ref"]) for m in practice["mappings"])
    assert [pair for pair, n in pairs.items() if n > 1] == []


@per_practice
def test_every_practice_maps_to_nist_ai_rmf(practice):
    assert any(m["framework"] == "nist-ai-rmf" for m in practice["mappings"])


def test_atlas_versions_are_kept_apart():
    """ATLAS 5.6.1 stops at AML.M0034; AML.M0035 exists only in v2026.07."""
    for practice in PRACTICES:
        for m in practice["mappings"]:
            if m["framework"] == "mitre-atlas":
                assert int(m["ref"][5:]) <= 34, (practice["code"], m)
            if m["framework"] == "mitre-atlas-2026":
                assert m["ref"] == "AML.M0035", (practice["code"], m)


def test_encrypt_data_carries_its_anchor_mappings():
    refs = {(m["framework"], m["ref"]) for m in PRACTICES[0]["mappings"]}
    assert {
        ("nist-ai-rmf", "MEASURE 2.7"),
        ("iso-42001", "A.4.3"),
        ("owasp-ml-top10", "ML05:2023"),
        ("mitre-atlas", "AML.M0012"),
    } <= refs


# Cross-check against the research team's framework mappings. A copy lives beside this test so the
# check runs in every clone; MLSEC_SHARED_DIR points it at a newer research directory instead.


@pytest.fixture(scope="module")
def shared_mappings() -> dict[int, dict]:
    shared_dir = os.environ.get("MLSEC_SHARED_DIR")
    path = Path(shared_dir) / "data" / "framework-mappings.yaml" if shared_dir else SHARED_COPY
    assert path.is_file(), f"{path} not found: MLSEC_SHARED_DIR must hold data/framework-mappings.yaml"
    return {item["id"]: item["mappings"] for item in yaml.safe_load(path.read_text(encoding="utf-8"))}


def _shared_entries(shared: dict, number: int, framework: str) -> dict[str, str]:
    return {str(item["id"]): item.get("name", "") for item in shared[number][SHARED_KEYS[framework]]}


@per_practice
def test_identifiers_appear_in_the_shared_mappings_for_the_same_practice(practice, shared_mappings):
    unknown = [
        (m["framework"], m["ref"])
        for m in practice["mappings"]
        if m["framework"] in SHARED_KEYS
        and m["ref"] not in _shared_entries(shared_mappings, practice["number"], m["framework"])
    ]
    assert unknown == []


@per_practice
def test_eu_ai_act_and_gdpr_articles_appear_in_the_shared_mappings(practice, shared_mappings):
    shared = shared_mappings[practice["number"]]
    articles = {str(item["article"]) for item in shared["eu_ai_act"]}
    gdpr = {str(item) for item in shared["gdpr"]}
    for m in practice["mappings"]:
        if m["framework"] == "eu-ai-act":
            assert re.match(r"Article (\d+)", m["ref"]).group(1) in articles, m
        if m["framework"] == "gdpr":  # "Article 32(1)(a)" is "32.1.a" in the shared file
            assert ".".join(re.findall(r"\d+|[a-z]\b", m["ref"].removeprefix("Article "))) in gdpr, m


@per_practice
def test_mapping_titles_are_the_frameworks_own_names(practice, shared_mappings):
    for m in practice["mappings"]:
        if m["framework"] in NAMED_FROM_SHARED:
            name = _shared_entries(shared_mappings, practice["number"], m["framework"])[m["ref"]]
            # the shared file annotates v2026.07-only entries, e.g. "AI Red Team (ATLAS v2026.07 per ...)"
            assert m["title"] == re.sub(r"\s*\(ATLAS v[^)]*\)$", "", name), m
