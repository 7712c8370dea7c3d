"""What a locked-out account sees, on the login page and on the API alike."""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render


def lockout_response(request, original_response=None, credentials=None):
    minutes = int(round(settings.AXES_COOLOFF_TIME * 60))
    message = f"Too many failed sign-in attempts: this account is locked for {minutes} minutes."
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message}, status=429)
    else:
        response = render(request, "accounts/locked.html", {"message": message}, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response
