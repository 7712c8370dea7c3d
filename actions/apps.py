from django.apps import AppConfig


def _after_verdict(sender, run, **kwargs) -> None:
    from .services import actions_after_check_verdict

    actions_after_check_verdict(run)


def _after_approval(sender, actor, assessment, **kwargs) -> None:
    from .services import actions_after_approval

    actions_after_approval(actor=actor, assessment=assessment)


def _after_risk_accepted(sender, actor, acceptance, **kwargs) -> None:
    from .services import actions_accept_risk

    actions_accept_risk(actor=actor, acceptance=acceptance)


class ActionsConfig(AppConfig):
    name = "actions"
    verbose_name = "Remediation actions and work lists"

    def ready(self) -> None:
        from assessments.signals import assessment_counted, risk_accepted
        from checks.signals import verdict_decided

        # Verdicts, approvals and accepted risks open or close actions, in the transaction of their change.
        verdict_decided.connect(_after_verdict, dispatch_uid="actions-verdict-decided")
        assessment_counted.connect(_after_approval, dispatch_uid="actions-assessment-counted")
        risk_accepted.connect(_after_risk_accepted, dispatch_uid="actions-risk-accepted")
