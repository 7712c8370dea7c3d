from django.urls import path

from . import pages

urlpatterns = [
    path("people/", pages.people, name="people"),
    path("people/<int:pk>/", pages.person_update, name="person-update"),
    path("people/invitations/<int:pk>/revoke/", pages.invitation_revoke_page, name="invitation-revoke"),
    path("teams/<slug:slug>/members/", pages.team_members, name="team-members"),
    path("teams/<slug:slug>/members/<int:user_pk>/remove/", pages.team_member_remove, name="team-member-remove"),
    path("identity/", pages.identity_settings, name="identity-settings"),
    path("identity/<str:kind>/<int:pk>/delete/", pages.identity_delete, name="identity-delete"),
    path("accounts/invitation/<str:key>/", pages.invitation_accept_page, name="invitation-accept"),
]
