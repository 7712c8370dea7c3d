"""The framework data files themselves: shape, identifiers, and the mapping kept equal to the catalogue's.

Plain pytest, no database: a file must be right before `load_frameworks` ever reads it.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from frameworks.loader import DATA_DIR, FILES, applicability, closure, read_framework_file

REPO = Path(__file__).resolve().parents[2]
CATALOGUE = yaml.safe_load((REPO / "controls" / "catalog" / "mlsec-catalog.yaml").read_text(encoding="utf-8"))
API_KEYS = ["nist-ai-rmf", "iso-42001", "iso-27001", "eu-ai-act", "owasp-ml", "owasp-llm", "mitre-atlas"]
FILES_BY_KEY = {read_framework_file(DATA_DIR / name).header["key"]: read_framework_file(DATA_DIR / name)
                for name in FILES}


def leaves(file):
    parents = {n.parent for n in file.nodes}
    return [n for n in file.nodes if n.ref not in parents]


def test_there_is_one_file_per_framework_key_of_the_api():
    assert list(FILES_BY_KEY) == API_KEYS
    assert sorted(p.name for p in DATA_DIR.glob("*.yaml")) == sorted(FILES)


@pytest.mark.parametrize("key", API_KEYS)
def test_every_file_names_its_version_levels_and_source(key):
    header = FILES_BY_KEY[key].header
    assert header["version"] and header["levels"] and header["source"] and header["catalogue_keys"]
    depth = max(n.depth for n in FILES_BY_KEY[key].nodes)
    assert len(header["levels"]) >= depth + 1


def test_nist_ai_rmf_has_its_four_functions_nineteen_categories_and_seventy_two_subcategories():
    nodes = FILES_BY_KEY["nist-ai-rmf"].nodes
    assert [n.ref for n in nodes if n.depth == 0] == ["GOVERN", "MAP", "MEASURE", "MANAGE"]
    assert Counter(n.depth for n in nodes) == {0: 4, 1: 19, 2: 72}
    assert all(re.fullmatch(r"(GOVERN|MAP|MEASURE|MANAGE) \d+\.\d+", n.ref) for n in nodes if n.depth == 2)
    assert all(n.ref.startswith(n.parent + ".") for n in nodes if n.depth == 2)


def test_iso_42001_annex_a_has_its_thirty_eight_controls_and_27001_its_ninety_three():
    annex = [n for n in leaves(FILES_BY_KEY["iso-42001"]) if n.ref.startswith("A.")]
    assert len(annex) == 38 and annex[0].ref == "A.2.2" and annex[-1].ref == "A.10.4"
    controls = leaves(FILES_BY_KEY["iso-27001"])
    assert len(controls) == 93
    assert Counter(n.parent for n in controls) == {"A.5": 37, "A.6": 8, "A.7": 14, "A.8": 34}


def test_owasp_lists_have_ten_risks_each_and_atlas_its_mitigations_with_their_release():
    assert [n.ref for n in FILES_BY_KEY["owasp-ml"].nodes] == [f"ML{i:02d}:2023" for i in range(1, 11)]
    assert [n.ref for n in FILES_BY_KEY["owasp-llm"].nodes] == [f"LLM{i:02d}:2025" for i in range(1, 11)]
    atlas = FILES_BY_KEY["mitre-atlas"]
    assert [n.ref for n in atlas.nodes] == [f"AML.M{i:04d}" for i in range(36)]
    assert {n.ref: n.version for n in atlas.nodes if n.version} == {"AML.M0035": "2026.07"}
    names = {n.ref: n.title for n in atlas.nodes}
    assert names["AML.M0004"] == "Restrict Number of AI Model Queries"  # the 5.6.1 name, not 2026.07's


def catalogue_mappings(keys: list[str]) -> set[tuple[str, str]]:
    return {(m["ref"], p["code"]) for p in CATALOGUE["practices"] for m in p.get("mappings", ())
            if m["framework"] in keys}


@pytest.mark.parametrize("key", API_KEYS)
def test_the_practices_of_a_file_are_exactly_the_catalogue_mappings_of_its_framework(key):
    file = FILES_BY_KEY[key]
    in_file = {(n.ref, code) for n in file.nodes for code in n.practices}
    assert in_file == catalogue_mappings(file.header["catalogue_keys"])


def test_a_requirement_inherits_the_practices_of_everything_below_it():
    file = FILES_BY_KEY["nist-ai-rmf"]
    practices = closure(file.nodes)
    children = [n for n in file.nodes if n.parent == "MEASURE 2"]
    assert practices["MEASURE 2"] == set().union(*(practices[c.ref] for c in children))
    assert practices["GOVERN 1.2"] == set()  # no practice maps to it: "not covered by the catalogue"


def test_every_ai_act_article_and_paragraph_binds_someone_and_paragraphs_follow_their_article():
    file = FILES_BY_KEY["eu-ai-act"]
    binds = applicability(file)
    assert all(binds[n.ref] for n in file.nodes), [n.ref for n in file.nodes if not binds[n.ref]]
    assert binds["Article 10(5)(b)"] == binds["Article 10"] == {("provider", "high-risk"),
                                                                ("product-manufacturer", "high-risk")}
    assert binds["Article 50(3)"] == {("deployer", "limited-risk")}  # a paragraph with its own profile
    assert binds["Article 50"] == binds["Article 50(1)"] | binds["Article 50(3)"]
    assert binds["Chapter II"] == {(role, "prohibited") for role in file.header["applicability"]["roles"]}
    assert ("deployer", "minimal-risk") not in binds["Article 26"]


def test_the_applicability_table_in_the_documentation_is_the_data_file():
    file = FILES_BY_KEY["eu-ai-act"]
    binds = applicability(file)
    articles = [n for n in file.nodes if n.applies]  # the articles (and Article 50's paragraphs) with a profile
    text = (REPO / "docs" / "frameworks.md").read_text(encoding="utf-8")
    table = text.split("<!-- applicability-table -->")[1].split("<!-- /applicability-table -->")[0]
    documented = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("Art. "):
            documented[cells[0].replace("Art. ", "Article ")] = cells[1:]
    assert set(documented) == {n.ref for n in articles}
    for node in articles:
        roles, classes = documented[node.ref]
        pairs = {(r.strip(), c.strip()) for r in roles.split(",") for c in classes.split(",")}
        assert pairs == binds[node.ref], node.ref
