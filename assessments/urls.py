from django.urls import path

from . import views

urlpatterns = [
    path("teams/<slug:team_slug>/projects/new/", views.project_create, name="project-create"),
    path("projects/<int:pk>/edit/", views.project_edit, name="project-edit"),
    path("projects/<int:pk>/assessments/start/", views.assessment_start, name="assessment-start"),
    path("assessments/<int:pk>/", views.assessment_form, name="assessment-form"),
    path("assessments/<int:pk>/review/", views.assessment_review, name="assessment-review"),
    path("review-queue/", views.review_queue, name="review-queue"),
    path("projects/<int:pk>/risk-acceptances/", views.acceptance_propose, name="acceptance-propose"),
    path("risk-acceptances/<int:pk>/decide/", views.acceptance_decide, name="acceptance-decide"),
]
