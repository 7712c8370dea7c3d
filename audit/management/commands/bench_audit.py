"""How long audited writes wait for each other (issue 19, "one audit lock row"), on PostgreSQL.

`manage.py bench_audit` runs W writer threads (each its own connection), each committing N transactions
that write one audit event and then spend `--work-ms` on the rest of their work (a check worker
storing results, an approval updating scores) before committing. It measures every transaction's
duration, twice: as writes behave now (a writer that finds the chain head locked does not wait), and
with the head locked at the event and held to commit as every write did before (`--mode held`
reproduces it: the same select_for_update the old `audit_record` made). Refuses a database whose name
lacks `bench`: it appends events to the trail.
"""

from __future__ import annotations

import statistics
import threading
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from audit.models import AuditChainHead, AuditEvent
from audit.services import audit_record, seal_pending, verify_chain


class Command(BaseCommand):
    help = "Transaction times of concurrent audited writers, the chain head held to commit or not (PostgreSQL)."

    def add_arguments(self, parser):
        parser.add_argument("--writers", type=int, default=8)
        parser.add_argument("--transactions", type=int, default=40, help="per writer")
        parser.add_argument("--work-ms", type=float, default=20.0, help="work after the event, before commit")
        parser.add_argument("--mode", choices=["now", "held", "both"], default="both")

    def handle(self, *args, writers, transactions, work_ms, mode, **options):
        if connection.vendor != "postgresql" or "bench" not in str(connection.settings_dict["NAME"]):
            raise CommandError("bench_audit runs on a PostgreSQL database whose name contains 'bench'")
        for name in (["now", "held"] if mode == "both" else [mode]):
            self.report(name, self.run(name, writers, transactions, work_ms / 1000), writers * transactions, work_ms)
        seal_pending()
        report = verify_chain()
        self.stdout.write(f"chain after the runs: ok={report.ok}, {report.checked} events, {report.waiting} waiting")
        if not report.ok:
            raise CommandError(report.reason)

    def run(self, mode: str, writers: int, count: int, work: float) -> tuple[list[float], float]:
        durations: list[float] = []
        lock = threading.Lock()
        barrier = threading.Barrier(writers)

        def writer(index: int) -> None:
            try:
                barrier.wait(60)
                for n in range(count):
                    started = time.monotonic()
                    with transaction.atomic():
                        if mode == "held":
                            AuditChainHead.objects.select_for_update().get(pk=1)  # the old audit_record's lock
                        audit_record(actor=None, action="bench.write", object_type="bench", object_id=f"{index}-{n}")
                        time.sleep(work)
                    with lock:
                        durations.append(time.monotonic() - started)
            finally:
                connection.close()

        started = time.monotonic()
        threads = [threading.Thread(target=writer, args=(i,)) for i in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return durations, time.monotonic() - started

    def report(self, mode: str, result: tuple[list[float], float], total: int, work_ms: float) -> None:
        durations, wall = result
        ms = sorted(d * 1000 for d in durations)
        waiting = AuditEvent.objects.filter(seq__isnull=True).count()
        self.stdout.write(
            f"{mode:>4}: {len(ms)}/{total} transactions in {wall:.2f} s ({len(ms) / wall:.0f}/s); per transaction "
            f"median {statistics.median(ms):.1f} ms, p95 {ms[int(len(ms) * 0.95) - 1]:.1f} ms, max {ms[-1]:.1f} ms "
            f"(work {work_ms:.0f} ms); events still waiting right after: {waiting}")
