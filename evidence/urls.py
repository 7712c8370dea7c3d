from django.urls import path

from . import views

urlpatterns = [
    path("projects/<int:pk>/evidence/new/", views.evidence_new, name="evidence-new"),
    path("evidence/shared/new/", views.shared_evidence_new, name="shared-evidence-new"),
    path("evidence/<int:pk>/links/", views.evidence_link, name="evidence-link"),
    path("evidence/<int:pk>/links/<int:link_id>/unlink/", views.evidence_unlink, name="evidence-unlink"),
    path("evidence/<int:pk>/", views.evidence_detail, name="evidence-detail"),
    path("evidence/<int:pk>/download/", views.evidence_download, name="evidence-download"),
    path("evidence/<int:pk>/review/", views.evidence_review, name="evidence-review"),
]
