from __future__ import annotations

from allauth.account.forms import ResetPasswordForm
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group
from django.db import transaction
from django.http import HttpRequest

from brokerage.exceptions import ApplicationError
from brokerage.models import User
from brokerage.roles import ADMIN, ROLES


class StaffError(ApplicationError):
    pass


def _check_roles(roles: list[str]) -> None:
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise StaffError(f"Unknown role: {', '.join(unknown)}.")
    if not roles:
        raise StaffError("Choose at least one role.")


@transaction.atomic
def staff_invite(
    *,
    email: str,
    first_name: str,
    last_name: str,
    roles: list[str],
    actor: User,
    request: HttpRequest | None = None,
) -> User:
    """Create a staff member with the given roles and no password; they get an e-mail to set
    one, and must set up two-factor authentication before the back-office opens."""
    _check_roles(roles)
    email = email.strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise StaffError(f"{email} already has an account.")
    user = User.objects.create_user(
        email=email, first_name=first_name, last_name=last_name, is_staff=True
    )
    user.set_unusable_password()
    user.save(update_fields=["password"])
    user.groups.set(Group.objects.filter(name__in=roles))
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    if request is not None:
        form = ResetPasswordForm(data={"email": email})
        if form.is_valid():
            # E-mail after commit: a rolled-back invitation must not send a working link.
            transaction.on_commit(lambda: form.save(request))
    return user


@transaction.atomic
def staff_set_roles(*, user: User, roles: list[str], actor: User) -> User:
    _check_roles(roles)
    if not user.is_staff:
        raise StaffError(f"{user.email} is not a staff member.")
    if user.pk == actor.pk and ADMIN in user_role_names(user) and ADMIN not in roles:
        raise StaffError("You can't remove your own administrator role; ask another admin.")
    user.groups.set(Group.objects.filter(name__in=roles))
    return user


@transaction.atomic
def staff_set_active(*, user: User, active: bool, actor: User) -> User:
    """Deactivate a staff member who leaves (their sessions stop working at once: Django's
    backends refuse inactive users), or bring them back. Audited like every User change."""
    if not user.is_staff:
        raise StaffError(f"{user.email} is not a staff member.")
    if user.pk == actor.pk and not active:
        raise StaffError("You can't deactivate your own account; ask another admin.")
    user.is_active = active
    user.save(update_fields=["is_active"])
    return user


def user_role_names(user: User) -> set[str]:
    return set(user.groups.values_list("name", flat=True))
