"""What the other KYC parts contribute to the back-office case page: each part is a small
template and its data, shown between the case's facts and the decision form."""

from __future__ import annotations

from typing import Any

from brokerage.models import User
from kyc.models import KycCase


def for_case(*, user: User, case: KycCase) -> dict[str, Any]:
    from kyc.documents.selectors import document_list_for_staff
    from kyc.riskscore.selectors import risk_summary

    documents = document_list_for_staff(user=user).filter(client=case.client)
    return {
        "documents": {
            "template": "kyc/parts/documents.html",
            "documents": documents.order_by("-uploaded_at")[:20],
            "client": case.client,
        },
        "risk": {
            "template": "kyc/parts/risk.html",
            "risk": risk_summary(client=case.client),
            "client": case.client,
        },
    }
