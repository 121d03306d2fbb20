from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator


class ScreenNameForm(forms.Form):
    name = forms.CharField(max_length=200, strip=True)
    dob = forms.CharField(
        label="Date of birth",
        required=False,
        help_text="YYYY, YYYY-MM or YYYY-MM-DD",
        validators=[
            RegexValidator(r"^\d{4}(-\d{2}(-\d{2})?)?$", "Use YYYY, YYYY-MM or YYYY-MM-DD.")
        ],
    )
    country = forms.CharField(
        required=False,
        max_length=2,
        help_text="ISO 3166-1 alpha-2",
        validators=[RegexValidator(r"^[A-Za-z]{2}$", "Use a two-letter country code.")],
    )
