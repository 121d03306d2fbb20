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
            from partners.services import attribution_bind_at_signup

            client = client_register(user=user)
            kyc_onboard(client=client)
            # The IB of the code typed on the form, else of the first referral link visited.
            code = getattr(form, "cleaned_data", {}).get("referral_code", "")
            attribution_bind_at_signup(client=client, request=request, code=code)
        return user

    def get_login_redirect_url(self, request) -> str:
        return reverse("home")
