"""The client's screening status as the case and the policy need it (kyc.screening owns it)."""

from __future__ import annotations

from clients.models import Client


def screening_decision(*, client: Client) -> str:
    """clear / alert / strong from the latest screening, or "not screened"."""
    try:
        from kyc.screening.selectors import latest_screening
    except ImportError:  # MERGE: the screening part lands on its own branch today
        return "not screened"
    latest = latest_screening(client=client)
    return str(latest.decision) if latest is not None else "not screened"
