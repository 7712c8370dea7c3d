"""How the OpenAPI schema describes ingest tokens: a security scheme listed on the three views that admit them."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object


class IngestTokenScheme(OpenApiAuthenticationExtension):
    target_class = "ingest.authentication.IngestTokenAuthentication"
    name = "ingestToken"

    def get_security_requirement(self, auto_schema):
        return {self.name: []} if getattr(auto_schema.view, "ingest_token_view", False) else None

    def get_security_definition(self, auto_schema):
        scheme = build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Token")  # noqa: S106
        scheme["description"] = ("A project's ingest token (`mlsi_…`): POST projects/{id}/results/, GET results/{id}/ "
                                 "and projects/{id}/gate/ of that project only.")
        return scheme


class CIIdentityScheme(OpenApiAuthenticationExtension):
    target_class = "ingest.oidc.CIIdentityAuthentication"
    name = "ciIdentity"

    def get_security_requirement(self, auto_schema):
        view = auto_schema.view
        admitted = getattr(view, "ingest_token_view", False) or getattr(view, "ci_identity_exchange_view", False)
        return {self.name: []} if admitted else None

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "A CI identity token (OIDC) that an administrator's rule binds to one project; "
                               "accepted once (exchange it at ci-identity/exchange/ for several requests)."}
