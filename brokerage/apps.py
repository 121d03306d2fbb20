from django.apps import AppConfig


class BrokerageConfig(AppConfig):
    name = "brokerage"
    verbose_name = "Brokerage"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        # Infrastructure, not domain flow: staff groups and their permissions follow the code
        # after every migrate, on every database (tests included).
        post_migrate.connect(_sync_roles, sender=self, dispatch_uid="brokerage-roles-sync")

        from allauth.mfa.signals import authenticator_added

        from brokerage.permissions import record_mfa_on_activation

        authenticator_added.connect(record_mfa_on_activation, dispatch_uid="brokerage-mfa-record")


def _sync_roles(sender, using="default", **kwargs) -> None:
    from brokerage.roles import roles_sync

    roles_sync(using=using)
