from __future__ import annotations

from django import forms

from kyc.models import CaseState, Reason

DECISIONS = [
    ("approve", "Approve"),
    ("resubmit", "Ask the client to upload again"),
    ("reject", "Reject"),
    ("review", "Put under review"),
    ("reopen", "Reopen: request documents"),
]


class QueueFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="Search")
    state = forms.ChoiceField(
        required=False,
        choices=[("", "Waiting on us"), ("all", "Any state"), *CaseState.choices],
    )
    assigned = forms.ChoiceField(
        required=False,
        choices=[("", "Anyone"), ("me", "Assigned to me"), ("none", "Unassigned")],
    )
    older_than = forms.ChoiceField(
        required=False,
        label="Waiting",
        choices=[
            ("", "Any time"),
            ("1d", "Over a day"),
            ("3d", "Over 3 days"),
            ("7d", "Over a week"),
        ],
    )


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=DECISIONS, widget=forms.RadioSelect)
    level = forms.TypedChoiceField(
        coerce=int,
        choices=[(1, "Level 1: identity verified"), (2, "Level 2: identity, address, screening")],
        initial=1,
        required=False,
        help_text="For an approval.",
    )
    reason = forms.ChoiceField(
        choices=[("", "Choose a reason"), *Reason.choices],
        required=False,
        help_text="Needed to ask again, reject or put under review.",
    )
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=2000,
        help_text="Internal note (the audit trail keeps it). The client sees the reason only.",
    )

    def clean(self):  # type: ignore[no-untyped-def]
        data = super().clean() or {}
        if data.get("decision") and data["decision"] != "approve" and not data.get("reason"):
            self.add_error("reason", "Choose a reason.")
        if data.get("reason") == Reason.OTHER and not (data.get("note") or "").strip():
            self.add_error("note", "Explain the reason.")
        return data


class AmlDecisionForm(forms.Form):
    outcome = forms.ChoiceField(
        choices=[("clear", "Not the same person: clear"), ("confirm", "Confirmed match")],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
