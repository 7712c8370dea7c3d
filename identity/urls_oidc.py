from django.urls import path

from . import oidc_views

urlpatterns = [
    path("login/", oidc_views.OIDCLoginView.as_view(), name="oidc-login"),
    path("callback/", oidc_views.OIDCCallbackView.as_view(), name="oidc-callback"),
    path("logout/", oidc_views.OIDCLogout.as_view(), name="oidc-logout"),
    path("mfa/", oidc_views.mfa_verify, name="mfa-verify"),
]
