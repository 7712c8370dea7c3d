from django.urls import path

from . import views

urlpatterns = [
    path("checks/", views.checks_index, name="checks"),
    path("check-runs/", views.check_runs, name="check-runs"),
    path("checks/scan-allowances/", views.scan_allowances, name="scan-allowances"),
    path("checks/scan-allowances/<int:pk>/delete/", views.scan_allowance_delete, name="scan-allowance-delete"),
    path("check-runs/<int:pk>/", views.check_run_detail, name="check-run-detail"),
    path("projects/<int:pk>/run-checks/", views.project_run_checks, name="project-run-checks"),
    path("projects/<int:pk>/artifact-baseline/", views.project_approve_baseline, name="project-approve-baseline"),
]
