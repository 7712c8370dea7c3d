from django.urls import path

from . import views

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/heatmap.json", views.dashboard_heatmap, name="dashboard-heatmap"),
]
