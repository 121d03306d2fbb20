"""Where the KYC parts report to the verification case (kyc.services owns the case).

The parts (kyc.documents, kyc.screening, kyc.providers) call these after their own work
is saved, inside the same transaction; the case moves, and the client is told, from here.
Each takes keyword arguments only, so that a part never depends on the case's internals.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def document_uploaded(*, document: Any) -> None:
    """A client's document passed the upload checks and was stored."""
    log.info("kyc: document %s uploaded", getattr(document, "pk", None))


def screening_completed(*, screening: Any) -> None:
    """A client was screened; `screening.decision` is clear, alert or strong."""
    log.info("kyc: screening %s completed", getattr(screening, "pk", None))


def provider_review(
    *,
    client: Any,
    provider: str,
    state: str,
    reasons: list[str],
    aml_labels: list[str],
    client_message: str = "",
    event_id: int | None = None,
) -> None:
    """A KYC provider's verdict, mapped onto our case states (state is one of
    kyc.models.CaseState's values). aml_labels (SANCTIONS, PEP, ...) open an AML case."""
    log.info("kyc: %s says %s for client %s", provider, state, getattr(client, "pk", None))
