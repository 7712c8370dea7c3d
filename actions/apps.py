from django.apps import AppConfig


def _after_verdict(sender, run, **kwargs) -> None:
    from .services import actions_after_check_verdict

    actions_after_check_verdict(run)


class ActionsConfig(AppConfig):
    name = "actions"
    verbose_name = "Remediation actions and work lists"

    def ready(self) -> None:
        from checks.signals import verdict_decided

        # A decided verdict opens or closes the check's actions, in finish_run's transaction.
        verdict_decided.connect(_after_verdict, dispatch_uid="actions-verdict-decided")
