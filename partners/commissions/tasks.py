"""Thin Celery tasks of the commissions app: ids and dates in, services out."""

from __future__ import annotations

from datetime import datetime

from celery import shared_task


@shared_task(name="commissions.tasks.cpa_qualify", ignore_result=True)
def cpa_qualify() -> int:
    from partners.commissions.services import cpa_qualify as qualify

    return qualify().lines_created


@shared_task(name="commissions.tasks.run_period", ignore_result=True)
def run_period(start_iso: str, end_iso: str) -> int:
    """A period again (deals a consumer call missed, plans counting opening deals)."""
    from partners.commissions.services import commission_run_period

    run = commission_run_period(
        start=datetime.fromisoformat(start_iso), end=datetime.fromisoformat(end_iso)
    )
    return run.lines_created
