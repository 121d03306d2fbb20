from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from kyc.documents.models import Document

# What a client may send (the upload checks decide by the bytes; this only helps the picker).
ACCEPT = "image/*,application/pdf"


class DocumentUploadForm(forms.Form):
    kind = forms.ChoiceField(
        label="Document",
        choices=[("", "Choose…"), *Document.Kind.choices],
        error_messages={"required": "Choose which document this is."},
    )
    side = forms.ChoiceField(
        label="Side",
        choices=[
            (Document.Side.FRONT, "Front"),
            (Document.Side.BACK, "Back"),
            (Document.Side.NONE, "One side only / all pages"),
        ],
        initial=Document.Side.FRONT,
    )
    file = forms.FileField(
        label="Photo or PDF",
        help_text="A clear photo of the whole document (JPEG, PNG or HEIC, up to 10 MB) or a "
        "PDF (up to 20 MB).",
        error_messages={
            "required": "Choose a photo or a PDF of the document.",
            "empty": "The file is empty.",
            "invalid": "No file was received; please choose it again.",
        },
        # On a phone, offer the back camera straight away.
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT, "capture": "environment"}),
    )
    expires_on = forms.DateField(
        label="Valid until",
        required=False,
        help_text="The expiry date printed on the document, if it has one.",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter the date as shown by the date picker (YYYY-MM-DD)."},
    )

    def clean_expires_on(self) -> Any:
        expires_on = self.cleaned_data.get("expires_on")
        if expires_on and expires_on < timezone.localdate():
            raise forms.ValidationError(
                "This document has expired; please upload one that is still valid."
            )
        return expires_on


class DocumentReviewForm(forms.Form):
    note = forms.CharField(
        label="Reason or note",
        required=False,
        max_length=1000,
        help_text="Needed to reject: the client reads it, so say what to send instead.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
