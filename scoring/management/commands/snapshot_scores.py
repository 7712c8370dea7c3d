import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from scoring.services import snapshot_scores


class Command(BaseCommand):
    help = "Store today's score snapshot (or --day YYYY-MM-DD, or --backfill N days computed from history)."

    def add_arguments(self, parser):
        parser.add_argument("--day", help="the day to snapshot (default: today)")
        parser.add_argument("--backfill", type=int, default=0, help="also (re)compute the N days before")

    def handle(self, *args, day, backfill, **options):
        try:
            target = dt.date.fromisoformat(day) if day else timezone.localdate()
        except ValueError:
            raise CommandError("--day must be YYYY-MM-DD") from None
        if target > timezone.localdate():
            raise CommandError("--day cannot be in the future")
        if backfill < 0:
            raise CommandError("--backfill must be positive")
        total = 0
        for offset in range(backfill, -1, -1):
            total += snapshot_scores(day=target - dt.timedelta(days=offset))
        self.stdout.write(f"stored {total} snapshot rows for {backfill + 1} day(s) up to {target}")
