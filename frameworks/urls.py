from django.urls import path

from . import views

urlpatterns = [
    path("frameworks/", views.frameworks_index, name="frameworks"),
    path("frameworks/crosswalk/", views.crosswalk, name="framework-crosswalk"),
    path("frameworks/eu-ai-act/projects/<int:pk>/classify/", views.ai_act_classify, name="ai-act-classify"),
    path("frameworks/<slug:key>/", views.framework_detail, name="framework-detail"),
]
