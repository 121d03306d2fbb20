from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from wallets.forms import AMOUNT_ERRORS
from wallets.transfers.selectors import Place


class TransferForm(forms.Form):
    source = forms.ChoiceField(label="From", error_messages={"required": "Choose where from."})
    target = forms.ChoiceField(label="To", error_messages={"required": "Choose where to."})
    amount = forms.DecimalField(
        label="Amount",
        min_value=Decimal("0.00000001"),
        max_digits=30,
        decimal_places=18,
        error_messages={
            **AMOUNT_ERRORS,
            "max_decimal_places": "Enter at most two decimals, e.g. 300.50.",
        },
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, places: list[Place], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.places = {p.value: p for p in places}
        choices = [("", "Choose…")] + [(p.value, p.label) for p in places]
        for name in ("source", "target"):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = choices
            field.error_messages["invalid_choice"] = (
                "Choose one of your wallets or live trading accounts."
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        source, target = (
            self.places.get(data.get("source", "")),
            self.places.get(data.get("target", "")),
        )
        if source is None or target is None:
            return data
        if source.account is None and target.account is None:
            self.add_error(
                "target",
                "To move money between your wallets, use Convert: it shows the rate first.",
            )
        elif source.account is not None and target.account is not None:
            self.add_error(
                "target",
                "Transfer between two trading accounts through your wallet: first to the "
                "wallet, then to the other account.",
            )
        elif source.currency != target.currency:
            account = source.account or target.account
            assert account is not None
            wallet = source if source.account is None else target
            self.add_error(
                "source" if source is wallet else "target",
                f"MT5 #{account.login} is in {account.currency}: use your {account.currency} "
                f"wallet, or convert {wallet.currency} to {account.currency} first.",
            )
        else:
            account = source.account or target.account
            assert account is not None
            data["account"] = account
            data["direction"] = "to_account" if target.account is not None else "to_wallet"
        return data
