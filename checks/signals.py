"""Keep the database's copy of the check registry in step with the code after every migrate, and tell the
apps built on the checks that a verdict was decided.

`verdict_decided(sender=CheckRun, run=run)` is sent by `services.finish_run` inside its transaction, after the
previous verdict was superseded (with `update()`, which sends no model signal): scoring refreshes the project's
rollup, actions opens or closes the check's actions. The checks call up to no app by name.
"""

from django.dispatch import Signal

verdict_decided = Signal()


def sync_after_migrate(sender, **kwargs) -> None:
    from .services import sync_check_definitions

    sync_check_definitions(using=kwargs.get("using", "default"))
