"""Transfers on the `platform` queue: thin tasks, ids in, services out.

Delivery stays at-most-once (no acks_late): a task lost with a dying worker leaves the
transfer in flight, and the resolver picks it up; it looks the operation up before sending."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="wallets.transfers.tasks.transfer_send", ignore_result=True)
def transfer_send(transfer_id: int) -> str:
    from wallets.transfers.services import transfer_process

    return transfer_process(transfer_id=transfer_id).status


@shared_task(name="wallets.transfers.tasks.resolve", ignore_result=True)
def resolve() -> int:
    from wallets.transfers.services import transfers_resolve

    return transfers_resolve()
