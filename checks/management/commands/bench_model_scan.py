"""Detection and false-positive rates of model-serialization on the corpus (docs/checks.md quotes them)."""

from __future__ import annotations

import logging
import tempfile
import time
from collections import Counter
from pathlib import Path

from django.core.management.base import BaseCommand

from checks.runners import run_check
from checks.runners.base import CheckContext, CheckTargets
from checks.scan_corpus import FORMS, write_benign_corpus, write_bypass_corpus

OPINIONS = ("allow-list", "picklescan", "modelscan", "fickling")


class Command(BaseCommand):
    help = "Scan the hand-written bypass corpus and benign library files; print the rates per form and scanner."

    def handle(self, *args, **options):
        for noisy in ("picklescan", "modelscan", "fickling"):
            logging.getLogger(noisy).setLevel(logging.CRITICAL)
        with tempfile.TemporaryDirectory(prefix="mlsec-bench-") as scratch:
            root = Path(scratch)
            expected = write_bypass_corpus(root / "bad")
            benign = write_benign_corpus(root / "good")
            started = time.perf_counter()
            bad = self._scan(root, "bad/*")
            good = self._scan(root, "good/*")
            elapsed = time.perf_counter() - started
        files = bad.data["files"]
        flagged = {name for name in expected if files[f"bad/{name}"]["verdict"] == "dangerous"}
        self.stdout.write(f"bypass corpus: {len(expected)} files ({len(expected) // len(FORMS)} callables x "
                          f"{len(FORMS)} forms), flagged {len(flagged)} = {len(flagged) / len(expected):.1%}")
        for form in FORMS:
            names = [n for n in expected if n.endswith(f"-{form.lower()}.pkl")]
            hit = sum(1 for n in names if n in flagged)
            self.stdout.write(f"  {form:<13} {hit}/{len(names)}")
        self.stdout.write("  each scanner alone (would call the file dangerous):")
        for scanner in OPINIONS:
            alone = sum(1 for n in expected if files[f"bad/{n}"]["opinions"].get(scanner) == "dangerous")
            self.stdout.write(f"    {scanner:<11} {alone}/{len(expected)} = {alone / len(expected):.1%}")
        missed_by_all = sum(1 for n in expected if not any(
            files[f"bad/{n}"]["opinions"].get(s) == "dangerous" for s in OPINIONS[1:]))
        self.stdout.write(f"    missed by all three maintained scanners (passed before the allow-list): "
                          f"{missed_by_all}/{len(expected)}")
        verdicts = Counter(info["verdict"] for info in good.data["files"].values())
        false_positives = verdicts.get("dangerous", 0)
        self.stdout.write(f"benign corpus: {len(benign)} files from NumPy, PyTorch, joblib + scikit-learn and pickle; "
                          f"false positives {false_positives} = {false_positives / len(benign):.1%}; "
                          f"errors {verdicts.get('error', 0)}; clean {verdicts.get('clean', 0)}")
        self.stdout.write(f"scan time for both corpora: {elapsed:.2f} s")

    @staticmethod
    def _scan(root: Path, pattern: str):
        return run_check("model-serialization", CheckContext(
            targets=CheckTargets(source_path=str(root), model_artifacts=[pattern]), allowed_roots=[str(root)]))
