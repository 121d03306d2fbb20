from django import forms


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
