from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone

from clients.models import Client
from wallets.models import FxRate, Journal, LedgerAccount, ManualAdjustment

AMOUNT_ERRORS = {
    "required": "Enter an amount.",
    "invalid": "Enter an amount as a number, e.g. 100.50.",
    "min_value": "The amount must be greater than zero.",
}


def _choice_field(form: forms.Form, name: str) -> forms.ChoiceField:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    return field


class PeriodForm(forms.Form):
    """From and to dates (both included) and a journal kind; shared by statements and lists."""

    start = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )
    kind = forms.ChoiceField(
        required=False, label="Kind", choices=[("", "Any kind"), *Journal.Kind.choices]
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("end", "The end date must be on or after the start date.")
        return data

    def period(self) -> tuple[datetime | None, datetime | None]:
        """[start, end) as aware datetimes: the end date is included up to its midnight."""
        if not self.is_valid():
            return None, None
        tz = timezone.get_current_timezone()
        start, end = self.cleaned_data.get("start"), self.cleaned_data.get("end")
        return (
            datetime.combine(start, time.min, tzinfo=tz) if start else None,
            datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz) if end else None,
        )

    def kind_value(self) -> str:
        return str(self.cleaned_data.get("kind") or "") if self.is_valid() else ""


class JournalFilterForm(PeriodForm):
    client = forms.CharField(
        required=False, max_length=100, label="Client", help_text="Name, e-mail or #id"
    )


class AccountFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="Search")
    kind = forms.ChoiceField(
        required=False, choices=[("", "Any kind"), *LedgerAccount.Kind.choices]
    )
    currency = forms.ChoiceField(required=False, choices=[("", "Any currency")])
    owner = forms.ChoiceField(
        required=False, choices=[("", "Any owner"), *LedgerAccount.Owner.choices]
    )

    def __init__(self, *args: Any, currencies: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        any_currency = [("", "Any currency")]
        _choice_field(self, "currency").choices = any_currency + [(c, c) for c in currencies]


class ConvertForm(forms.Form):
    sell = forms.ChoiceField(label="From")
    buy = forms.ChoiceField(label="To")
    amount = forms.DecimalField(
        label="Amount to convert",
        min_value=Decimal("0.000000000000000001"),
        max_digits=30,
        error_messages=AMOUNT_ERRORS,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )

    def __init__(
        self, *args: Any, sell: list[tuple[str, str]], buy: list[str], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        _choice_field(self, "sell").choices = sell
        _choice_field(self, "buy").choices = [(c, c) for c in buy]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("sell") and data.get("sell") == data.get("buy"):
            self.add_error("buy", "Pick a different currency than the one you convert from.")
        return data


class FxRateForm(forms.Form):
    base = forms.ChoiceField(label="From (base)")
    quote = forms.ChoiceField(label="To (quote)")
    rate = forms.DecimalField(
        label="Rate",
        max_digits=20,
        decimal_places=10,
        min_value=Decimal("0.0000000001"),
        error_messages={"min_value": "The rate must be greater than zero."},
        help_text="Units of the quote currency for one unit of the base currency.",
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )
    markup = forms.DecimalField(
        label="Markup",
        max_digits=6,
        decimal_places=5,
        min_value=Decimal(0),
        max_value=Decimal("0.1"),
        error_messages={
            "min_value": "The markup can't be negative.",
            "max_value": "The markup can be at most 0.1, that is 10 percent.",
        },
        help_text="The share the house keeps, as a fraction: 0.005 is 0.5 %.",
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )

    def __init__(
        self, *args: Any, currencies: list[str], instance: FxRate | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        choices = [(c, c) for c in currencies]
        _choice_field(self, "base").choices = choices
        _choice_field(self, "quote").choices = choices
        if instance is not None:
            # Editing a pair changes its numbers, not which pair it is.
            for name in ("base", "quote"):
                self.fields[name].disabled = True
            self.initial.update(
                base=instance.base_id,
                quote=instance.quote_id,
                rate=instance.rate.normalize(),
                markup=instance.markup.normalize(),
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("base") and data.get("base") == data.get("quote"):
            self.add_error("quote", "A rate is between two different currencies.")
        return data


class AdjustmentRequestForm(forms.Form):
    client = forms.EmailField(label="Client's e-mail")
    currency = forms.ChoiceField(label="Wallet currency")
    direction = forms.ChoiceField(
        choices=ManualAdjustment.Direction.choices, widget=forms.RadioSelect, label="Direction"
    )
    amount = forms.DecimalField(
        label="Amount",
        min_value=Decimal("0.000000000000000001"),
        max_digits=38,
        decimal_places=18,
        error_messages=AMOUNT_ERRORS,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )
    reason = forms.ChoiceField(choices=ManualAdjustment.Reason.choices, label="Reason")
    reason_text = forms.CharField(
        label="Explanation for the approver",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Explain the adjustment for the approver."},
    )

    def __init__(self, *args: Any, currencies: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choice_field(self, "currency").choices = [(c, c) for c in currencies]

    def clean_client(self) -> Client:
        email = self.cleaned_data["client"]
        client = Client.objects.select_related("user").filter(user__email__iexact=email).first()
        if client is None:
            raise forms.ValidationError(f"No client has the e-mail {email}.")
        return client


class AdjustmentDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    note = forms.CharField(
        required=False,
        max_length=500,
        label="Note",
        help_text="Required to reject; the requester reads it.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") == "reject" and not (data.get("note") or "").strip():
            self.add_error("note", "Say why you reject it: the requester reads this.")
        return data
