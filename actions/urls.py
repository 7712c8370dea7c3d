from django.urls import path

from . import views

urlpatterns = [
    path("actions/<int:pk>/", views.action_detail, name="action-detail"),
    path("check-runs/<int:pk>/promote/", views.promote_check_run, name="check-run-promote"),
    path("work/<slug:slug>/", views.work_list, name="work-list"),
]
