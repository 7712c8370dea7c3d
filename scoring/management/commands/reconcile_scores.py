from django.core.management.base import BaseCommand, CommandError

from scoring.reconcile import reconcile


class Command(BaseCommand):
    help = ("Compare the score rollup with a full recomputation, cell by cell; exit 1 on any difference "
            "(--repair also rebuilds the rollup).")

    def add_arguments(self, parser):
        parser.add_argument("--repair", action="store_true", help="rebuild the rollup after reporting differences")
        parser.add_argument("--limit", type=int, default=50, help="differences to print (default 50)")

    def handle(self, *args, repair, limit, **options):
        found = reconcile(repair=repair)
        if not found:
            self.stdout.write("rollup and recomputation agree in every cell")
            return
        for difference in found[:limit]:
            self.stdout.write(str(difference))
        more = f" ({len(found) - limit} more not shown)" if len(found) > limit else ""
        raise CommandError(f"{len(found)} difference(s) between the rollup and the recomputation{more}"
                           + ("; the rollup was rebuilt" if repair else ""))
