"""Parse and check what people type; no side effects (services decide the rest)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms

from wallets.payments.models import Deposit, PaymentMethod


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text.strip().replace(",", ""))
    except InvalidOperation:
        raise forms.ValidationError("Enter an amount in figures, like 250 or 250.50.") from None
    if not value.is_finite():
        raise forms.ValidationError("Enter an amount in figures, like 250 or 250.50.")
    return value


class DepositForm(forms.Form):
    method = forms.ModelChoiceField(
        queryset=PaymentMethod.objects.none(),
        widget=forms.RadioSelect,
        empty_label=None,
        label="Pay with",
        error_messages={"required": "Choose how you want to pay."},
    )
    currency = forms.ChoiceField(
        label="Currency", error_messages={"required": "Choose a currency."}
    )
    amount = forms.CharField(
        label="Amount",
        max_length=30,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        error_messages={"required": "Enter the amount you want to deposit."},
    )

    def __init__(self, *args: Any, methods: list[PaymentMethod], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["method"].queryset = PaymentMethod.objects.filter(  # type: ignore[attr-defined]
            pk__in=[m.pk for m in methods]
        )
        self.fields["method"].label_from_instance = _method_label  # type: ignore[attr-defined]
        currencies = sorted({c for m in methods for c in m.currencies})
        self.fields["currency"].choices = [(c, c) for c in currencies]  # type: ignore[attr-defined]
        if len(methods) == 1:
            self.fields["method"].initial = methods[0].pk

    def clean_amount(self) -> Decimal:
        return _decimal(self.cleaned_data["amount"])


def _method_label(method: PaymentMethod) -> str:
    fee = []
    if method.fee_percent:
        fee.append(f"{method.fee_percent.normalize():f}\u00a0%")  # "2.5 %" never split
    if method.fee_fixed:
        # At least cents ("0.30", not "0.3"); finer fixed fees (crypto) keep their digits.
        fixed = method.fee_fixed.normalize()
        cents = fixed.quantize(Decimal("0.01"))
        fee.append(f"{cents if cents == fixed else fixed:f}")
    fee_text = " + ".join(fee) if fee else "no fee"
    return f"{method.name} · {', '.join(method.currencies)} · fee {fee_text}"


class DepositFilterForm(forms.Form):
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *Deposit.Status.choices]
    )
    provider = forms.ChoiceField(
        required=False, choices=[("", "Any provider"), *PaymentMethod.Provider.choices]
    )
    client = forms.CharField(required=False, max_length=100, label="Client")
    min_amount = forms.DecimalField(required=False, min_value=0, label="Amount from")
    max_amount = forms.DecimalField(required=False, min_value=0, label="Amount to")
    start = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("min_amount"), data.get("max_amount")
        if low is not None and high is not None and low > high:
            self.add_error("max_amount", "The upper amount must not be below the lower one.")
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("end", "The end date must not be before the start date.")
        return data


class PaymentMethodForm(forms.ModelForm):
    currencies = forms.CharField(
        help_text="ISO codes separated by commas, e.g. USD, EUR", max_length=200
    )

    class Meta:
        model = PaymentMethod
        fields = [
            "name",
            "currencies",
            "min_amount",
            "max_amount",
            "fee_fixed",
            "fee_percent",
            "kyc_level",
            "deposits_enabled",
            "closed_loop",
            "sort_order",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["currencies"] = ", ".join(self.instance.currencies)

    def clean_currencies(self) -> list[str]:
        from wallets.models import Currency

        codes = [c.strip().upper() for c in self.cleaned_data["currencies"].split(",") if c.strip()]
        if not codes:
            raise forms.ValidationError("Name at least one currency.")
        known = set(Currency.objects.filter(code__in=codes).values_list("code", flat=True))
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise forms.ValidationError(f"Unknown currency: {', '.join(unknown)}.")
        return list(dict.fromkeys(codes))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("min_amount"), data.get("max_amount")
        if low is not None and high is not None and low > high:
            self.add_error("max_amount", "The maximum must not be below the minimum.")
        level = data.get("kyc_level")
        if level is not None and level > 2:
            self.add_error("kyc_level", "KYC levels go from 0 to 2.")
        return data
