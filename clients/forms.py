from typing import Any

from django import forms

from clients.models import TradingProduct


class SignupForm(forms.Form):
    """Extra fields on allauth's sign-up form: the name a broker needs from day one (KYC
    compares it with the identity document later). allauth's adapter stores them."""

    first_name = forms.CharField(
        max_length=150,
        label="First name",
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        max_length=150,
        label="Last name",
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )

    referral_code = forms.CharField(
        max_length=16,
        required=False,
        label="Referral code (optional)",
        help_text="From the partner who introduced you, if any",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )

    field_order = ["first_name", "last_name", "email", "password1", "password2", "referral_code"]

    def clean_referral_code(self) -> str:
        from partners.selectors import referral_link_by_code

        code = (self.cleaned_data.get("referral_code") or "").strip().upper()
        if code and referral_link_by_code(code) is None:
            raise forms.ValidationError(
                f"No partner has the code {code}. Check it, or leave the field empty."
            )
        return code

    def signup(self, request, user) -> None:  # allauth calls this after saving the user
        pass


class DealFilterForm(forms.Form):
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )
    symbol = forms.ChoiceField(required=False, choices=[("", "All symbols")])

    def __init__(self, *args, symbols: list[str], **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["symbol"].choices = [("", "All symbols")] + [(s, s) for s in symbols]  # type: ignore[attr-defined]

    def clean(self):  # type: ignore[no-untyped-def]
        data = super().clean() or {}
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "The end date is before the start date.")
        return data


class ResyncForm(forms.Form):
    server = forms.IntegerField(widget=forms.HiddenInput)
    since = forms.DateTimeField(
        label="From (UTC)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    until = forms.DateTimeField(
        label="To (UTC)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def clean(self):  # type: ignore[no-untyped-def]
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until:
            if since >= until:
                self.add_error("until", "The end is not after the start.")
            elif (until - since).days > 31:
                self.add_error("until", "Re-sync at most 31 days at a time.")
        return data


class OpenAccountForm(forms.Form):
    """Which product and leverage; the leverage choices are the chosen product's only."""

    product = forms.TypedChoiceField(
        coerce=int,
        label="Account type",
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose an account type.",
            "invalid_choice": "Choose one of the account types offered.",
        },
    )
    leverage = forms.TypedChoiceField(
        coerce=int,
        label="Leverage",
        error_messages={
            "required": "Choose a leverage.",
            "invalid_choice": "Choose one of the leverages this account type offers.",
        },
    )

    def __init__(self, *args: Any, products: list[TradingProduct], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.products = {p.pk: p for p in products}
        product_field = self.fields["product"]
        assert isinstance(product_field, forms.ChoiceField)
        product_field.choices = [(p.pk, p.name) for p in products]
        chosen = self.chosen_product()
        leverage_field = self.fields["leverage"]
        assert isinstance(leverage_field, forms.ChoiceField)
        if chosen is not None:
            leverage_field.choices = [(n, f"1:{n}") for n in sorted(chosen.leverage_choices)]
            leverage_field.initial = chosen.default_leverage
        else:
            leverage_field.choices = [("", "Choose an account type first")]

    def chosen_product(self) -> TradingProduct | None:
        raw = self.data.get("product") if self.is_bound else self.initial.get("product")
        try:
            return self.products.get(int(raw)) if raw not in (None, "") else None
        except (TypeError, ValueError):
            return None


class TradingProductForm(forms.ModelForm):
    leverage_text = forms.CharField(
        label="Leverage choices",
        help_text="The ratios a client may choose, e.g. 50, 100, 200 (for 1:50, 1:100, 1:200)",
    )

    class Meta:
        model = TradingProduct
        fields = [
            "name",
            "server",
            "group",
            "currency",
            "default_leverage",
            "min_deposit",
            "demo_balance",
            "enabled",
            "sort_order",
            "description",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["leverage_text"] = ", ".join(
                str(n) for n in sorted(self.instance.leverage_choices)
            )
        self.order_fields(["name", "server", "group", "currency", "leverage_text"])

    def clean_leverage_text(self) -> list[int]:
        text = self.cleaned_data["leverage_text"]
        parts = [p.strip().removeprefix("1:") for p in text.replace(";", ",").split(",")]
        try:
            values = sorted({int(p) for p in parts if p})
        except ValueError:
            raise forms.ValidationError(
                "Write the ratios as whole numbers separated by commas, e.g. 50, 100, 200."
            ) from None
        if not values:
            raise forms.ValidationError("Offer at least one leverage.")
        if any(not 1 <= v <= 500 for v in values):
            raise forms.ValidationError("Each leverage must be between 1 and 500.")
        return values

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        choices, default = data.get("leverage_text"), data.get("default_leverage")
        if choices and default and default not in choices:
            self.add_error("default_leverage", "The default leverage must be one of the choices.")
        server = data.get("server")
        demo = data.get("demo_balance")
        if server is not None and server.is_live and demo:
            self.add_error("demo_balance", "Only a product on a demo server gets a demo balance.")
        return data

    def save(self, commit: bool = True) -> TradingProduct:
        self.instance.leverage_choices = self.cleaned_data["leverage_text"]
        return super().save(commit=commit)
