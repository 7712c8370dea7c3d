from django.urls import path

from . import views

urlpatterns = [
    path("projects/<int:pk>/sources/new/", views.source_create, name="source-create"),
    path("projects/<int:pk>/sources/<int:sid>/edit/", views.source_edit, name="source-edit"),
    path("projects/<int:pk>/sources/<int:sid>/delete/", views.source_delete, name="source-delete"),
    path("projects/<int:pk>/sources/<int:sid>/test/", views.source_test, name="source-test"),
    path("projects/<int:pk>/sync/", views.project_sync, name="project-sync"),
]
