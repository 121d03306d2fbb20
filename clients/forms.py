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

    field_order = ["first_name", "last_name", "email", "password1", "password2"]

    def signup(self, request, user) -> None:  # allauth calls this after saving the user
        pass
