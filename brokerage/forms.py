from django import forms

from brokerage.selectors import AUDITED_MODELS


class AuditFilterForm(forms.Form):
    model = forms.ChoiceField(
        required=False, choices=[("", "All records")] + list(AUDITED_MODELS.items())
    )
    object_id = forms.CharField(required=False, max_length=40, label="Record id")
    user = forms.CharField(required=False, max_length=40, label="Changed by (user id)")
