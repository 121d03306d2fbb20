from __future__ import annotations

from decimal import Decimal

from django import forms

from partners.models import Partner


class PreviewForm(forms.Form):
    partner = forms.ModelChoiceField(
        queryset=Partner.objects.all(), label="The client's IB (bottom of the tree path)"
    )
    symbol = forms.CharField(max_length=32, initial="EURUSD")
    lots = forms.DecimalField(min_value=Decimal("0.01"), max_digits=12, decimal_places=2, initial=1)
    commission = forms.DecimalField(
        label="Client's commission on the deal",
        min_value=Decimal(0),
        max_digits=12,
        decimal_places=2,
        initial=0,
        required=False,
    )


class RateForm(forms.Form):
    """One rate of a version not used yet."""

    group = forms.IntegerField(widget=forms.HiddenInput)
    per_lot = forms.DecimalField(min_value=Decimal(0), max_digits=12, decimal_places=2)
    pct_commission = forms.DecimalField(
        min_value=Decimal(0), max_value=Decimal(100), max_digits=7, decimal_places=2, initial=0
    )
    pct_spread = forms.DecimalField(
        min_value=Decimal(0), max_value=Decimal(100), max_digits=7, decimal_places=2, initial=0
    )


class VersionForm(forms.Form):
    valid_from = forms.DateTimeField(
        label="In force from (UTC)", help_text="e.g. 2026-12-01 00:00; past deals keep theirs"
    )
    note = forms.CharField(max_length=300, required=False)


class RecomputeForm(forms.Form):
    period = forms.RegexField(
        regex=r"^\d{4}-\d{2}$", label="Month (YYYY-MM)",
        error_messages={"invalid": "Write the month as 2026-11."},
    )  # fmt: skip


class ApproveForm(forms.Form):
    reason = forms.CharField(
        max_length=300, widget=forms.Textarea(attrs={"rows": 2}), label="Why post these"
    )


class DisputeForm(forms.Form):
    message = forms.CharField(
        max_length=2000, widget=forms.Textarea(attrs={"rows": 3}), label="What looks wrong"
    )


class ResolveForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", "Accept"), ("reject", "Reject")])
    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    adjustment = forms.DecimalField(
        required=False,
        max_digits=14,
        decimal_places=2,
        help_text="When accepting: the amount to credit (negative to take back), plan currency",
    )


class PayoutForm(forms.Form):
    currency = forms.ChoiceField(label="From your IB wallet in")
    amount = forms.DecimalField(label="Amount", max_digits=24, decimal_places=8)
    token = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args: object, currencies: list[str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["currency"].choices = [(c, c) for c in currencies]  # type: ignore[attr-defined]


class PlanAssignForm(forms.Form):
    plan: forms.ModelChoiceField = forms.ModelChoiceField(  # type: ignore[type-arg]
        queryset=None,  # type: ignore[arg-type]
        label="Commission plan",
    )
    valid_from = forms.DateTimeField(
        label="Effective from (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Deals from this moment on earn under the new plan; earlier deals keep theirs.",
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        from partners.commissions.models import CommissionPlan

        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["plan"].queryset = CommissionPlan.objects.order_by("name")  # type: ignore[attr-defined]
