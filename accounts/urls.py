from django.urls import include, path

from . import views

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("oidc/", include("identity.urls_oidc")),
    path("logout/", views.SignOutView.as_view(), name="logout"),
    path("mfa/enrol/", views.mfa_enrol, name="mfa-enrol"),
    path("mfa/recovery-codes/", views.mfa_recovery_codes, name="mfa-recovery-codes"),
]
