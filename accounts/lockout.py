"""What a locked-out sign-in sees, on the login page and on the API alike.

Lock-out is per username (and username + address), never per address alone, so the message speaks of
the username that was tried, not of "this account", and says the same whether or not it exists.
"""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render


def lockout_message() -> str:
    minutes = max(1, int(round(settings.AXES_COOLOFF_TIME * 60)))
    return (f"Too many failed sign-in attempts with this username: it is locked for {minutes} minutes. "
            "Other users can still sign in; an administrator can unlock it sooner.")


def lockout_response(request, original_response=None, credentials=None):
    minutes = max(1, int(round(settings.AXES_COOLOFF_TIME * 60)))
    message = lockout_message()
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message}, status=429)
    else:
        response = render(request, "accounts/locked.html", {"message": message}, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response
