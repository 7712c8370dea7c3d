from django.core.management.base import BaseCommand, CommandError

from audit.services import verify_chain


class Command(BaseCommand):
    help = "Walk the hash-chained audit trail; exit non-zero and name the first broken event after any edit."

    def handle(self, *args, **options):
        report = verify_chain()
        if not report.ok:
            where = f"event #{report.first_broken_seq}" if report.first_broken_seq is not None else "a waiting event"
            raise CommandError(f"audit trail BROKEN at {where}: {report.reason} "
                               f"({report.checked} events verified before it)")
        waiting = f"; {report.waiting} committed events wait for their place (their entry MACs verified)" \
            if report.waiting else ""
        self.stdout.write(f"audit trail intact: {report.checked} events, every link and hash verified{waiting}")
