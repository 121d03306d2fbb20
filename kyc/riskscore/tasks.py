"""Thin Celery tasks for the behaviour rules (queue `default`, scheduled in
CELERY_BEAT_SCHEDULE). Each rule is idempotent, so a task is safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task

from kyc.riskscore import rules
from kyc.riskscore.services import assessments_refresh_due

log = logging.getLogger(__name__)


def _run(code: str) -> int:
    created = rules.RULES[code]()
    log.info("monitoring rule %s: %d new alert(s)", code, created)
    return created


@shared_task(name="kyc.riskscore.tasks.rule_r1", ignore_result=True, acks_late=True)
def rule_r1() -> int:
    return _run("R1")


@shared_task(name="kyc.riskscore.tasks.rule_r2", ignore_result=True, acks_late=True)
def rule_r2() -> int:
    return _run("R2")


@shared_task(name="kyc.riskscore.tasks.rule_r4", ignore_result=True, acks_late=True)
def rule_r4() -> int:
    return _run("R4")


@shared_task(name="kyc.riskscore.tasks.rule_r7", ignore_result=True, acks_late=True)
def rule_r7() -> int:
    return _run("R7")


@shared_task(name="kyc.riskscore.tasks.refresh_due", ignore_result=True, acks_late=True)
def refresh_due() -> int:
    """Periodic review: re-assess clients whose review date has come (3/2/1 years by band)."""
    count = assessments_refresh_due()
    log.info("risk reviews: %d client(s) re-assessed", count)
    return count
