from django.db.models import Prefetch
from rest_framework import mixins, viewsets

from accounts.scope import ScopedViewSetMixin
from evidence.models import Evidence

from ..filtersets import CheckRunFilter
from ..models import CheckDefinition, CheckRun
from .serializers import CheckRunSerializer, CheckSerializer


def schedules_by_check() -> dict[str, str]:
    """The crontab in force for each check's periodic task (editable in the admin)."""
    from django_celery_beat.models import PeriodicTask

    result = {}
    for task in PeriodicTask.objects.filter(name__startswith="Check: ").select_related("crontab"):
        cron = task.crontab
        if cron is not None:
            key = task.name.removeprefix("Check: ")
            spec = f"{cron.minute} {cron.hour} {cron.day_of_month} {cron.month_of_year} {cron.day_of_week}"
            result[key] = spec if task.enabled else f"disabled ({spec})"
    return result


class CheckViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The registered automated checks, with the practices they cover and their schedules."""

    serializer_class = CheckSerializer
    lookup_field = "key"

    def get_queryset(self):
        return CheckDefinition.objects.prefetch_related("practices").order_by("key")

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "schedules": schedules_by_check()}


class CheckRunViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Runs of the checks, newest first, in the user's scope."""

    serializer_class = CheckRunSerializer
    filterset_class = CheckRunFilter
    queryset = (CheckRun.objects.select_related("requested_by")
                .prefetch_related(Prefetch("evidence", queryset=Evidence.objects.only("pk", "check_run_id")))
                .order_by("-created_at", "-pk"))
