from django.urls import path

from . import views

urlpatterns = [
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification-read"),
    path("notifications/read-all/", views.notification_read_all, name="notifications-read-all"),
    path("notifications/preferences/", views.preferences, name="notification-preferences"),
    path("teams/<slug:slug>/channels/", views.team_channels, name="team-channels"),
    path("teams/<slug:slug>/channels/<int:pk>/", views.team_channel_change, name="team-channel-change"),
]
