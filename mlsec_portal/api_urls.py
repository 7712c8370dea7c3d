"""`/api/v1/`: every resource of the API (the OpenAPI schema at `/api/schema/` lists them)."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from accounts.api.auth import ObtainTokenView, TotpConfirmView, TotpStartView
from accounts.api.views import TeamViewSet, UserViewSet
from actions.api.views import ActionViewSet
from assessments.api.views import AssessmentViewSet, ProjectViewSet, RiskAcceptanceViewSet
from audit.api.views import AuditEventViewSet
from campaigns.api.views import CampaignViewSet
from checks.api.policy_views import ScanAllowanceViewSet, SigningPolicyView
from checks.api.views import CheckRunViewSet, CheckViewSet, ProjectChecksViewSet
from controls.api.views import PracticeViewSet
from evidence.api.views import EvidenceViewSet
from frameworks.api.views import FrameworkViewSet
from identity.api import ScimTokenViewSet
from ingest.api import views as ingest_views
from notifications.api.views import NotificationViewSet, PreferencesView, TeamChannelViewSet
from reports.api.views import ReportViewSet
from scoring.api.views import ScorecardView
from sources.api.views import AssetViewSet, ProjectAssetViewSet, ProjectSyncViewSet, SourceViewSet

router = DefaultRouter()
router.register("users", UserViewSet, basename="user")
router.register("practices", PracticeViewSet, basename="practice")
router.register("teams", TeamViewSet, basename="team")
router.register("projects", ProjectViewSet, basename="project")
router.register("assessments", AssessmentViewSet, basename="assessment")
router.register("risk-acceptances", RiskAcceptanceViewSet, basename="riskacceptance")
router.register("evidence", EvidenceViewSet, basename="evidence")
router.register("checks", CheckViewSet, basename="check")
router.register("reports", ReportViewSet, basename="report")
router.register("audit-events", AuditEventViewSet, basename="auditevent")
router.register("check-runs", CheckRunViewSet, basename="checkrun")
router.register("frameworks", FrameworkViewSet, basename="framework")
router.register("actions", ActionViewSet, basename="action")
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("scan-allowances", ScanAllowanceViewSet, basename="scanallowance")
router.register("assets", AssetViewSet, basename="asset")
router.register("notifications", NotificationViewSet, basename="notification")
router.register(r"teams/(?P<team_slug>[-a-z0-9]+)/notification-channels", TeamChannelViewSet,
                basename="teamchannel")
router.register("scim-tokens", ScimTokenViewSet, basename="scimtoken")

urlpatterns = [
    path("auth/token/", ObtainTokenView.as_view(), name="api-token"),
    path("auth/mfa/totp/", TotpStartView.as_view(), name="api-mfa-totp"),
    path("auth/mfa/totp/confirm/", TotpConfirmView.as_view(), name="api-mfa-totp-confirm"),
    path("scorecard/", ScorecardView.as_view(), name="api-scorecard"),
    path("projects/<int:pk>/run-checks/", ProjectChecksViewSet.as_view({"post": "run_checks"}),
         name="project-run-checks"),
    path("projects/<int:pk>/artifact-baseline/",
         ProjectChecksViewSet.as_view({"get": "artifact_baseline", "post": "artifact_baseline"}),
         name="project-artifact-baseline"),
    path("projects/<int:pk>/signing-policy/", SigningPolicyView.as_view(), name="api-project-signing-policy"),
    path("projects/<int:project_pk>/sources/", SourceViewSet.as_view({"get": "list", "post": "create"}),
         name="api-project-sources"),
    path("projects/<int:project_pk>/sources/<int:pk>/",
         SourceViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
         name="api-project-source"),
    path("projects/<int:project_pk>/sources/<int:pk>/test/", SourceViewSet.as_view({"post": "test"}),
         name="api-project-source-test"),
    path("projects/<int:project_pk>/sync/", ProjectSyncViewSet.as_view({"post": "sync"}), name="api-project-sync"),
    path("projects/<int:project_pk>/assets/", ProjectAssetViewSet.as_view({"get": "list"}), name="api-project-assets"),
    path("projects/<int:project_pk>/assets/<int:pk>/", ProjectAssetViewSet.as_view({"get": "retrieve"}),
         name="api-project-asset"),
    path("notification-preferences/", PreferencesView.as_view(), name="api-notification-preferences"),
    path("projects/<int:pk>/ingest-tokens/", ingest_views.IngestTokenListView.as_view(), name="api-ingest-tokens"),
    path("projects/<int:pk>/ingest-tokens/<int:tid>/", ingest_views.IngestTokenDetailView.as_view(),
         name="api-ingest-token"),
    path("projects/<int:pk>/results/", ingest_views.ResultsView.as_view(), name="api-project-results"),
    path("projects/<int:pk>/gate/", ingest_views.GateView.as_view(), name="api-project-gate"),
    path("projects/<int:pk>/gate-policy/", ingest_views.GatePolicyView.as_view(), name="api-project-gate-policy"),
    path("results/<int:pk>/", ingest_views.ResultDetailView.as_view(), name="api-result"),
    path("ci-identity/exchange/", ingest_views.CIIdentityExchangeView.as_view(), name="api-ci-identity-exchange"),
    path("", include(router.urls)),
]
