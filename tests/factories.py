"""Factories shared by every app's tests."""

from __future__ import annotations

import factory
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth.models import Group

from brokerage.models import User
from clients.models import Client
from partners.models import Partner

PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified(self, create, extracted, **kwargs):
        if create and extracted is not False:
            EmailAddress.objects.create(user=self, email=self.email, verified=True, primary=True)
        if create:
            self.save()


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client

    user = factory.SubFactory(UserFactory)
    country = "DE"


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partner

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Partner {n}")
    status = Partner.Status.APPROVED

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # Through the service, so the IB tree's paths exist like in real life.
        from partners.services import partner_register

        status = kwargs.pop("status")
        partner = partner_register(approved=status == Partner.Status.APPROVED, **kwargs)
        if partner.status != status:
            Partner.objects.filter(pk=partner.pk).update(status=status)
            partner.status = status
        return partner


def make_staff(*roles: str, mfa: bool = True, **fields) -> User:
    """A staff member in the given role groups, with an authenticator app unless mfa=False."""
    user = UserFactory(is_staff=True, **fields)
    user.groups.set(Group.objects.filter(name__in=roles))
    if mfa:
        TOTP.activate(user, generate_totp_secret())
    return user


def login_staff(client, user: User) -> None:
    """Log a staff member in as the real flow leaves them: password and second factor
    recorded in the session (what `backoffice_view` checks)."""
    from allauth.account.authentication import AUTHENTICATION_METHODS_SESSION_KEY

    client.force_login(user)
    session = client.session
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": 0, "email": user.email},
        {"method": "mfa", "at": 0, "type": "totp"},
    ]
    session["account_authentication_methods_user"] = str(user.pk)
    session.save()
