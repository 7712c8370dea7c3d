from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from evidence.models import Evidence, EvidenceKind
from evidence.services import evidence_bytes


class Command(BaseCommand):
    help = "Decrypt every stored evidence file and check it against the SHA-256 recorded at upload."

    def handle(self, *args, **options):
        checked, problems = 0, []
        files = Evidence.objects.filter(kind=EvidenceKind.FILE).exclude(storage_name="").order_by("pk")
        for evidence in files.iterator():
            try:
                evidence_bytes(evidence)
            except FileNotFoundError:
                problems.append(f"evidence #{evidence.pk}: file missing ({evidence.storage_name})")
            except ValidationError as exc:
                problems.append(f"evidence #{evidence.pk}: {' '.join(exc.messages)}")
            checked += 1
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} of {checked} evidence files failed verification")
        self.stdout.write(f"all {checked} evidence files decrypt and match their recorded SHA-256")
