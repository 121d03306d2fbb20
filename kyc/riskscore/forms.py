"""Forms of the risk pages: parse and validate, no side effects."""

from __future__ import annotations

from django import forms

from kyc.riskscore.models import MonitoringAlert, RiskApproval


class ApprovalForm(forms.Form):
    decision = forms.ChoiceField(
        label="Decision",
        choices=[
            (RiskApproval.Decision.APPROVE, "Approve: accept this client at high risk"),
            (RiskApproval.Decision.DECLINE, "Decline: do not accept the risk"),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose approve or decline."},
    )
    reason = forms.CharField(
        label="Reason",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept on file with the assessment: what you checked and why you decided so.",
        error_messages={"required": "Give the reason for your decision: it is kept on file."},
    )


class AlertDecisionForm(forms.Form):
    status = forms.ChoiceField(
        label="Decision",
        choices=[
            (MonitoringAlert.Status.DISMISSED, "Dismiss: explained, nothing to report"),
            (MonitoringAlert.Status.ESCALATED, "Escalate to the MLRO"),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose dismiss or escalate."},
    )
    note = forms.CharField(
        label="Note",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Say why: the note is kept with the alert."},
    )


class AssessForm(forms.Form):
    pep = forms.ChoiceField(
        label="Politically exposed person",
        choices=[("none", "No"), ("domestic", "Domestic PEP"), ("foreign", "Foreign PEP or RCA")],
        initial="none",
    )
    screening = forms.ChoiceField(
        label="Sanctions screening result",
        choices=[
            ("clear", "Clear"),
            ("alert", "Alert under review"),
            ("strong", "Strong hit (freeze)"),
            ("unknown", "Not screened yet"),
        ],
        initial="unknown",
    )
    channel = forms.ChoiceField(
        label="Onboarding channel",
        choices=[("online", "Online (not face to face)"), ("face_to_face", "Face to face")],
        initial="online",
    )
    adverse_media = forms.BooleanField(label="Adverse media found", required=False)
