"""The client's screening status as the case and the policy need it (kyc.screening owns it)."""

from __future__ import annotations

from clients.models import Client


def screening_decision(*, client: Client) -> str:
    """clear / alert / strong from the latest screening, or "not screened"."""
    from kyc.screening.selectors import latest_screening

    latest = latest_screening(client=client)
    return str(latest.decision) if latest is not None else "not screened"
