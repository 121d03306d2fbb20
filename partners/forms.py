from __future__ import annotations

from typing import Any

from django import forms

from partners.models import LANDING_PAGES, Partner


class PartnerApplyForm(forms.Form):
    name = forms.CharField(
        max_length=200, label="Trading name", help_text="The name your clients will know you by"
    )
    website = forms.URLField(
        required=False,
        assume_scheme="https",
        label="Website (optional)",
        error_messages={"invalid": "Enter a full web address, such as https://example.com."},
    )
    promotion = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
        label="How will you promote us?",
        help_text="Your audience, channels (website, social media, seminars...) and countries",
    )


def _approved_partners(exclude: Partner | None = None) -> Any:
    partners = Partner.objects.filter(status=Partner.Status.APPROVED).order_by("name")
    return partners.exclude(pk=exclude.pk) if exclude else partners


class PartnerDecisionForm(forms.Form):
    """Approve (optionally under a parent IB) or reject with a reason. The commission plan
    choice is added by partners.commissions (a `plan` field) when that app is present."""

    decision = forms.ChoiceField(
        choices=[("approve", "Approve"), ("reject", "Reject")], widget=forms.RadioSelect
    )
    parent = forms.ModelChoiceField(
        queryset=Partner.objects.none(),
        required=False,
        empty_label="None: a master IB",
        label="Parent IB",
    )
    reason = forms.CharField(
        required=False, max_length=300, label="Reason (required to reject; the applicant sees it)"
    )

    def __init__(self, *args: Any, partner: Partner, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = _approved_partners(exclude=partner)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") == "reject" and not (data.get("reason") or "").strip():
            self.add_error("reason", "Give the applicant a reason for the rejection.")
        return data


class PartnerMoveForm(forms.Form):
    parent = forms.ModelChoiceField(
        queryset=Partner.objects.none(),
        required=False,
        empty_label="None: make them a master IB",
        label="New parent IB",
    )

    def __init__(self, *args: Any, partner: Partner, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = _approved_partners(exclude=partner)  # type: ignore[attr-defined]


class ReassignForm(forms.Form):
    partner = forms.ModelChoiceField(
        queryset=Partner.objects.none(),
        required=False,
        empty_label="None: a direct client of the broker",
        label="New IB",
    )
    reason = forms.CharField(max_length=300, label="Reason (kept in the audit trail)")
    effective_from = forms.DateTimeField(
        required=False,
        label="Effective from (UTC; empty = now)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    backdate = forms.BooleanField(
        required=False,
        label="Backdate: the new IB also gets the client's deals since that date",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = _approved_partners()  # type: ignore[attr-defined]


class ReferralLinkForm(forms.Form):
    landing_path = forms.ChoiceField(choices=LANDING_PAGES, label="Landing page")
    campaign = forms.SlugField(
        required=False,
        max_length=50,
        label="Campaign (optional)",
        help_text="Letters, digits and dashes, e.g. spring-webinar",
        error_messages={"invalid": "Use only letters, digits, dashes and underscores."},
    )


class PartnerFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=100)
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *Partner.Status.choices]
    )
