"""schemathesis against the portal's own OpenAPI schema, as an administrator: every operation gets a
bounded number of generated requests; none may answer a server error, and every documented response
must match the schema."""

import json

import pytest
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from mlsec_portal.wsgi import application

EXAMPLES_PER_OPERATION = 12


def load_schema():
    # The schema the portal serves at /api/schema/ (which needs a login), generated in process.
    document = json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), default=str))
    schema = schemathesis.openapi.from_dict(document)
    schema.app = application
    return schema


schema = load_schema()


@pytest.fixture
def keep_test_connection():
    """Like Django's test client: the in-process WSGI calls must not close the test's database connection."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def admin_token(db, settings, tmp_path, keep_test_connection):
    from accounts.choices import OrgRole
    from accounts.tests.factories import UserFactory

    settings.MLSEC_CHECK_ROOTS = [str(tmp_path)]  # generated targets may name /tmp: nothing outside this is read
    from accounts.tokens import token_issue

    admin = UserFactory(username="fuzz-admin", org_role=OrgRole.ADMIN, is_superuser=True)
    return token_issue(user=admin, mfa_verified=True)[1]


@pytest.mark.slow
@schema.parametrize()
@hypothesis_settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
                     suppress_health_check=list(HealthCheck))
def test_no_operation_answers_a_server_error_or_breaks_its_schema(case, admin_token):
    # identity: schemathesis sends requests' default Accept-Encoding (gzip) but its in-process WSGI transport
    # does not decode a compressed body; the compressed scorecard is tested in scoring/tests/test_scorecard_encoding.py.
    case.call_and_validate(headers={"Authorization": f"Token {admin_token}", "Accept-Encoding": "identity"},
                           checks=[not_a_server_error, response_schema_conformance])
