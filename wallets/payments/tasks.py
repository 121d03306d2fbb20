from __future__ import annotations

from celery import shared_task

from wallets.payments.services import deposit_notify_client


@shared_task(name="wallets.payments.tasks.deposit_notify", ignore_result=True)
def deposit_notify(deposit_id: int, status: str) -> None:
    """The client's notice and e-mail for a deposit's new status (idempotent per status)."""
    deposit_notify_client(deposit_id=deposit_id, status=status)
