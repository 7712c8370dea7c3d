from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from identity.scim.app import scim_view

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("mlsec_portal.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Both need sign-in (SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]); the page sends a browser to the login form.
    path("api/docs/", login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema")), name="api-docs"),
    re_path(r"^scim/v2/?(?P<path>.*)$", scim_view, name="scim"),
    path("", include("web.urls")),
]
