from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "People, teams and scope"

    def ready(self):
        from . import schema, signals  # noqa: F401 - schema registers the OpenAPI descriptions

        signals.connect()
