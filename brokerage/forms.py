from django import forms

from brokerage.roles import ROLE_LABELS, ROLES
from brokerage.selectors import AUDITED_MODELS


class AuditFilterForm(forms.Form):
    model = forms.ChoiceField(
        required=False, choices=[("", "All records")] + list(AUDITED_MODELS.items())
    )
    object_id = forms.CharField(required=False, max_length=40, label="Record id")
    user = forms.CharField(required=False, max_length=254, label="Changed by (e-mail or id)")


class StaffRolesForm(forms.Form):
    roles = forms.MultipleChoiceField(
        choices=[(role, ROLE_LABELS[role]) for role in ROLES],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one role."},
    )


class StaffInviteForm(StaffRolesForm):
    email = forms.EmailField(label="E-mail")
    first_name = forms.CharField(max_length=150, label="First name")
    last_name = forms.CharField(max_length=150, label="Last name")

    field_order = ["email", "first_name", "last_name", "roles"]
