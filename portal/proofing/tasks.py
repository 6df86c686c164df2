"""Jobs of identity proofing, registered on the portal's Celery by ``create_app``."""

from __future__ import annotations

from celery import Celery

from portal.proofing import checks


def register_tasks(celery: Celery) -> None:
    celery.task(name=checks.SEND_CHECK)(checks.send_check)
    celery.task(name=checks.RESEND_DUE_CHECKS)(checks.resend_due_checks)
    # Production (Celery beat): queued checks whose registry was down are retried.
    celery.conf.beat_schedule = {
        "resend-due-checks": {"task": checks.RESEND_DUE_CHECKS, "schedule": 30.0},
    }
