"""The screening app's periodic tasks, for settings' CELERY_BEAT_SCHEDULE.

Kept free of Django imports so that settings can merge it:
    from kyc.screening.schedule import BEAT_SCHEDULE as SCREENING_BEAT_SCHEDULE
    CELERY_BEAT_SCHEDULE |= SCREENING_BEAT_SCHEDULE
"""

from __future__ import annotations

from celery.schedules import crontab

BEAT_SCHEDULE = {
    "screening-download-lists": {
        "task": "kyc.screening.tasks.download_lists",
        "schedule": crontab(minute=20, hour="*/3"),
        "options": {"queue": "default", "expires": 3 * 3600},
    },
    "screening-rescreen-nightly": {
        "task": "kyc.screening.tasks.rescreen_all",
        "schedule": crontab(hour=3, minute=30),
        "options": {"queue": "default"},
    },
}
