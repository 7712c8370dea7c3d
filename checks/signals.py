"""Keep the database's copy of the check registry in step with the code after every migrate."""


def sync_after_migrate(sender, **kwargs) -> None:
    from .services import sync_check_definitions

    sync_check_definitions(using=kwargs.get("using", "default"))
