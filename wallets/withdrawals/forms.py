from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from wallets.forms import AMOUNT_ERRORS
from wallets.withdrawals.models import Withdrawal
from wallets.withdrawals.services import Destination

BANK = "bank"


class WithdrawForm(forms.Form):
    currency = forms.ChoiceField(label="From wallet")
    amount = forms.DecimalField(
        label="Amount",
        max_digits=24,
        decimal_places=None,
        error_messages=AMOUNT_ERRORS,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    destination = forms.ChoiceField(label="Send it to", widget=forms.RadioSelect)
    iban = forms.CharField(
        label="IBAN",
        required=False,
        max_length=50,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    bic = forms.CharField(
        label="BIC (SWIFT code)",
        required=False,
        max_length=20,
        help_text="Optional for many European banks: we look it up from the IBAN.",
    )
    account_holder = forms.CharField(
        label="Account holder",
        required=False,
        max_length=140,
        help_text="The account must be in your own name.",
    )

    def __init__(
        self,
        *args: Any,
        currencies: list[tuple[str, str]],
        methods: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        currency = self.fields["currency"]
        destination = self.fields["destination"]
        assert isinstance(currency, forms.ChoiceField)
        assert isinstance(destination, forms.ChoiceField)
        currency.choices = currencies
        destination.choices = [*methods, (BANK, "A bank account (IBAN)")]
        if not self.is_bound and not self.initial.get("destination"):
            self.initial["destination"] = methods[0][0] if methods else BANK

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("destination") == BANK:
            if not (data.get("iban") or "").strip():
                self.add_error("iban", "Enter the IBAN of your bank account.")
            if not (data.get("account_holder") or "").strip():
                self.add_error("account_holder", "Enter the account holder's name.")
        return data

    def destination_value(self, methods: dict[int, Any]) -> Destination:
        data = self.cleaned_data
        choice = str(data["destination"])
        if choice == BANK:
            return Destination(
                kind=Withdrawal.Destination.BANK,
                iban=data.get("iban", ""),
                bic=data.get("bic", ""),
                holder=data.get("account_holder", ""),
            )
        pk = int(choice.removeprefix("method:"))
        return Destination(kind=Withdrawal.Destination.METHOD, method=methods[pk])


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(
        required=False,
        choices=[("pending", "Waiting on finance"), ("", "Any status"), *Withdrawal.Status.choices],
    )
    client = forms.CharField(required=False, max_length=100, help_text="Name, e-mail or #id")
    currency = forms.ChoiceField(required=False, choices=[("", "Any currency")])
    amount_min = forms.DecimalField(required=False, min_value=Decimal(0), label="Amount from")
    amount_max = forms.DecimalField(required=False, min_value=Decimal(0), label="Amount to")

    def __init__(self, *args: Any, currencies: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["currency"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "Any currency"), *[(c, c) for c in currencies]]

    def values(self) -> dict[str, Any]:
        if not self.is_valid():
            return {"status": "pending"}
        data = self.cleaned_data
        status = data.get("status", "")
        if "status" not in self.data:
            status = "pending"
        return {
            "status": status,
            "client": data.get("client", "").strip(),
            "currency": data.get("currency", ""),
            "amount_min": data.get("amount_min"),
            "amount_max": data.get("amount_max"),
        }


class ActionForm(forms.Form):
    """One of finance's decisions; what each needs is checked by its service."""

    action = forms.ChoiceField(
        choices=[
            ("approve", "Approve"),
            ("reject", "Reject"),
            ("paid", "Mark paid"),
            ("failed", "Payout failed"),
        ]
    )
    note = forms.CharField(
        required=False, max_length=500, label="Note", widget=forms.Textarea(attrs={"rows": 2})
    )
    reason = forms.CharField(
        required=False,
        max_length=500,
        label="Reason (the client reads it)",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    reference = forms.CharField(
        required=False, max_length=200, label="Payout reference (bank or provider transaction id)"
    )
