"""Applying scope in views: one mechanism, checked for every URL by tests/test_scope_once.py.

The rule itself (`ScopedQuerySet.visible_to`) lives with the teams in accounts/scope.py; this is how
views apply it, kept in the kernel so that every app, the audit trail below accounts included, uses
the same mechanism (accounts.scope re-exports these names).
"""

from __future__ import annotations

# --- Applying scope in views: one mechanism, checked for every URL by tests/test_scope_once.py ---------

#: The attribute `scoped_view` sets on a function view (`functools.wraps` carries it through the
#: decorators stacked above, `login_required`, `require_POST`…).
SCOPE_MARK = "scope_applied"


def _user_of(who):
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser

    return who if who is None or isinstance(who, AbstractBaseUser | AnonymousUser) else who.user


def scoped(who, source):
    """`source` (a model class or a queryset of it) restricted to what `who` (a request or a user) may see.

    Only a model that belongs to a team (its queryset has `visible_to`) can be scoped: anything else is
    a TypeError, never a silently unscoped queryset.
    """
    queryset = source._default_manager.all() if isinstance(source, type) else source
    if not callable(getattr(queryset, "visible_to", None)):
        raise TypeError(f"{queryset.model.__name__} has no visible_to(user): it does not belong to a team")
    return queryset.visible_to(_user_of(who))


def get_scoped_or_404(who, source, **lookup):
    """The one object matching `lookup` among those `who` may see; 404 (never 403) outside the scope."""
    from django.shortcuts import get_object_or_404

    return get_object_or_404(scoped(who, source), **lookup)


def scoped_view(view):
    """Marks a function view whose reads of team-owned objects all go through `scoped` /
    `get_scoped_or_404` (or a service given `request.user` that applies `visible_to`)."""
    setattr(view, SCOPE_MARK, True)
    return view


class ScopedView:
    """For class-based views (DRF `APIView`s, viewsets without a queryset): marks the class scoped and
    gives it `self.scoped(source)` and `self.get_scoped_or_404(source, **lookup)` for `self.request`."""

    def scoped(self, source):
        return scoped(self.request, source)

    def get_scoped_or_404(self, source, **lookup):
        return get_scoped_or_404(self.request, source, **lookup)


class ScopedViewSetMixin(ScopedView):
    """For DRF generic views and viewsets, like NetBox's `BaseViewSet` + `RestrictedQuerySet.restrict`:
    the class declares `queryset = Model.objects…`; `get_queryset` always returns it scoped to the
    request's user, so list, retrieve, update, destroy and every `get_object()` in an action answer 404
    outside the scope. A view narrows or decorates it in `refine_queryset`, which receives the queryset
    already scoped; overriding `get_queryset` itself is refused when the class is defined."""

    queryset = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "get_queryset" in vars(cls):
            raise TypeError(f"{cls.__qualname__} overrides get_queryset(): declare `queryset` and narrow it in "
                            "refine_queryset(queryset), which receives it already scoped")

    def get_queryset(self):
        return self.refine_queryset(self.scoped(super().get_queryset()))

    def refine_queryset(self, queryset):
        """Narrow the already-scoped queryset (by action, query parameter, parent object…)."""
        return queryset


def view_is_scoped(callback) -> bool:
    """Whether a URL's callback is scoped by the mechanism above: the class mixin, or the function mark."""
    cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if cls is not None:
        return issubclass(cls, ScopedView)
    return bool(getattr(callback, SCOPE_MARK, False))
