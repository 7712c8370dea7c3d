"""API plumbing shared by every app: pagination and the API's error contract (tests/test_api_contract.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_number(self, request, paginator):
        # A page number that is not a positive integer is bad input (400), not "no such page" (404).
        raw = request.query_params.get(self.page_query_param) or 1
        if str(raw).isdigit() and int(raw) > 0 or raw in self.last_page_strings:
            return raw
        raise exceptions.ValidationError({"page": ["A positive integer is required."]})

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None and not (raw.isdigit() and int(raw) > 0):
            raise exceptions.ValidationError({"page_size": [f"An integer from 1 to {self.max_page_size} is required."]})
        return super().get_page_size(request)


def validation_error_body(exc: DjangoValidationError) -> dict:
    if hasattr(exc, "error_dict"):
        return {field: [str(m) for e in errors for m in e.messages] for field, errors in exc.error_dict.items()}
    return {"detail": " ".join(exc.messages)}


def error_text(exc: DjangoValidationError) -> str:
    """All of a validation error's messages as one sentence, for a page's message banner."""
    return " ".join(str(m) for m in exc.messages)


def errors_to_form(form, exc: DjangoValidationError) -> None:
    """A service's refusal onto a bound form: field errors on their fields, the rest on the form."""
    if not hasattr(exc, "error_dict"):
        for message in exc.messages:
            form.add_error(None, message)
        return
    for field, errors in exc.message_dict.items():
        target = field if field in form.fields else None
        for message in errors:
            form.add_error(target, message)


def form_saved(request, form, save: Callable[[], Any], success: str | Callable[[Any], str]) -> bool:
    """Run a page's service call `save()`: its refusal lands on the bound form (False), or `success` (a text,
    or a function of what `save` returned) is flashed (True) and the page redirects."""
    return _done(request, save, success, lambda exc: errors_to_form(form, exc))


def action_done(request, act: Callable[[], Any], success: str | Callable[[Any], str]) -> bool:
    """Run a page button's service call `act()` (a POST whose page redirects either way): its refusal is
    flashed as an error (False), or `success` (a text, or a function of what `act` returned) (True)."""
    from django.contrib import messages

    return _done(request, act, success, lambda exc: messages.error(request, error_text(exc)))


def _done(request, call, success, refused) -> bool:
    from django.contrib import messages

    try:
        result = call()
    except DjangoValidationError as exc:
        refused(exc)
        return False
    messages.success(request, success(result) if callable(success) else success)
    return True

def exception_handler(exc, context):
    """Domain errors raised by services become the contract's 400/403/404, never a 500."""
    if isinstance(exc, DjangoValidationError):
        return Response(validation_error_body(exc), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    return drf_exception_handler(exc, context)
