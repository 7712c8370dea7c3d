"""The portal practises what it preaches: its own committed code passes its own source checks."""

import pytest

from checks.registry import registry
from checks.runners import run_check
from checks.runners.base import CheckContext, CheckTargets
from web.demo_targets import export_portal_source


@pytest.mark.slow
def test_the_portals_own_code_passes_its_secrets_and_static_analysis_checks(settings, tmp_path):
    source = export_portal_source(tmp_path / "platform-security" / "mlsec-portal")
    assert (source / "manage.py").exists() and not (source / "var").exists()
    context = CheckContext(targets=CheckTargets(source_path=str(source), dependency_files=[str(source / "requirements.txt")]),
                           allowed_roots=[str(tmp_path)])
    for key in ("source-secrets", "source-static-analysis"):
        result = run_check(key, context, registry=registry())
        assert result.status == "passed", (key, result.summary, [f.ref for f in result.findings if f.severity == "high"])
