from django.urls import path

from . import views

urlpatterns = [
    path("reports/", views.reports_page, name="reports"),
    path("reports/<uuid:pk>/download/", views.report_download, name="report-download"),
    path("reports/<uuid:pk>/retry/", views.report_retry, name="report-retry"),
    path("settings/", views.settings_page, name="settings"),
]
