from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = "Scorecard and history"

    def ready(self):
        from . import signals  # noqa: F401  (the rollup follows every scored write)
