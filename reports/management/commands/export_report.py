import datetime as dt
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Team
from assessments.models import Project
from reports.dataset import EvidenceFiles, build_dataset
from reports.models import ReportScope
from reports.renderers.registry import format_keys
from reports.services import check_format_scope, render, resolve_scope, signing_public_key


class Command(BaseCommand):
    help = "Export a scope as it stood at a point in time (runs here; the pages and API queue a worker)."

    def add_arguments(self, parser):
        parser.add_argument("--scope", choices=ReportScope.values, required=True)
        parser.add_argument("--team", help="team slug (scope team)")
        parser.add_argument("--project", type=int, help="project id (scope project)")
        parser.add_argument("--as-of", dest="as_of", help="YYYY-MM-DD (default: now)")
        parser.add_argument("--format", choices=format_keys(), required=True)
        parser.add_argument("--output", required=True, help="file to write")

    def handle(self, *args, scope, team, project, as_of, format, output, **options):
        try:
            day = dt.date.fromisoformat(as_of) if as_of else None
        except ValueError:
            raise CommandError("--as-of must be YYYY-MM-DD") from None
        team_obj = Team.objects.filter(slug=team).first() if team else None
        project_obj = Project.objects.select_related("team").filter(pk=project).first() if project else None
        if team and team_obj is None or project and project_obj is None:
            raise CommandError("no such team or project")
        try:
            check_format_scope(format, scope)
            resolved = resolve_scope(user=None, scope=scope, team=team_obj, project=project_obj)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        files = EvidenceFiles()
        dataset = build_dataset(scope=resolved, as_of=day, generated_by="manage.py export_report",
                                fingerprint=signing_public_key()[1], files=files)
        path = Path(output)
        with open(path, "wb") as out:
            render(dataset, format, out, files)
        self.stdout.write(f"wrote {path} ({path.stat().st_size} bytes): {format} of {resolved.label} as of "
                          f"{dataset['as_of']}")
