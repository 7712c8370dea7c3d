from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from assessments.models import Project
from checks.choices import RunStatus, Trigger
from checks.registry import check_keys
from checks.services import queue_runs, run_now


class Command(BaseCommand):
    help = "Queue automated checks (all projects and checks by default); --sync runs them here and waits."

    def add_arguments(self, parser):
        parser.add_argument("--project", type=int, action="append", help="project id (repeatable)")
        parser.add_argument("--check", action="append", help="check key (repeatable)")
        parser.add_argument("--sync", action="store_true", help="run in this process instead of on the workers")

    def handle(self, *args, project, check, sync, **options):
        unknown = sorted(set(check or []) - check_keys())
        if unknown:
            raise CommandError(f"unknown checks: {', '.join(unknown)} (known: {', '.join(sorted(check_keys()))})")
        projects = Project.objects.active().order_by("pk")
        if project:
            projects = projects.filter(pk__in=project)
            missing = sorted(set(project) - set(projects.values_list("pk", flat=True)))
            if missing:
                raise CommandError(f"no active project with id {', '.join(map(str, missing))}")
        totals: dict[str, int] = {}
        for item in projects:
            try:
                runs = queue_runs(project=item, keys=check, trigger=Trigger.MANUAL, record_skips=bool(project))
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from exc
            for run in runs:
                if sync and run.status == RunStatus.QUEUED:
                    run = run_now(run)
                    self.stdout.write(f"{item.name}: {run.definition_id} {run.status}: {run.summary}")
                totals[run.status] = totals.get(run.status, 0) + 1
        self.stdout.write("runs: " + ", ".join(f"{n} {status}" for status, n in sorted(totals.items())) if totals
                          else "nothing to run")
