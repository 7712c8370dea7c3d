from django.urls import include, path

from . import mywork, project_page, views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/", include("accounts.urls")),
    path("", include("identity.urls_pages")),
    path("teams/", views.teams_index, name="teams"),
    path("teams/<slug:slug>/", views.team_detail, name="team-detail"),
    path("catalogue/", views.catalogue, name="catalogue"),
    path("practices/<str:code>/", views.practice_detail, name="practice-detail"),
    path("projects/<int:pk>/", project_page.project_detail, name="project-detail"),
    path("my-work/", mywork.my_work, name="my-work"),
    path("", include("assessments.urls")),
    path("", include("scoring.urls")),
    path("", include("checks.urls")),
    path("", include("evidence.urls")),
    path("", include("reports.urls")),
    path("", include("audit.urls")),
    path("", include("frameworks.urls")),
    path("", include("sources.urls")),
    path("", include("notifications.urls")),
    path("", include("actions.urls")),
    path("", include("campaigns.urls")),
]
