"""Status colours sit on the choices (`mlsec_portal.choices.BadgeChoices`): each status list declares the badge
of every value once, the models' `badge` read it, and no template or view maps a status to a colour."""

import re
from pathlib import Path

import django.apps

from mlsec_portal.choices import BadgeChoices

ROOT = Path(__file__).resolve().parents[1]
from tests.project_files import project_files  # noqa: E402


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_badge_choices_declares_a_badge_for_each_of_its_values():
    django.apps.apps.get_models()  # every app's models and choices imported
    found = list(_subclasses(BadgeChoices))
    assert len(found) >= 10
    for choices in found:
        assert set(choices.__badges__) == set(choices.values), choices
        for member in choices:
            assert member.badge == choices.badge_for(member.value)


def test_no_template_maps_a_status_to_a_colour():
    pattern = re.compile(r'badge-\{%\s*if\s+[^%]*status')
    offenders = [str(p.relative_to(ROOT)) for p in (p for p in project_files("*.html") if "templates" in p.parts)
                 if ".venv" not in p.parts and pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_no_module_keeps_its_own_badge_table():
    offenders = [str(p.relative_to(ROOT)) for p in project_files("*.py")
                 if ".venv" not in p.parts and "tests" not in p.parts
                 and re.search(r"^\s*STATUS_BADGES\s*=", p.read_text(encoding="utf-8"), re.M)]
    assert offenders == []
