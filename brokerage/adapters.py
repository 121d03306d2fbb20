from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.urls import reverse


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            # Everyone who signs up is a prospective trader; IBs apply from the portal later.
            from clients.services import client_register
            from kyc.services import kyc_onboard

            kyc_onboard(client=client_register(user=user))
        return user

    def get_login_redirect_url(self, request) -> str:
        return reverse("home")
