# Load the Celery app with Django, so @shared_task in any app binds to it (the usual Django pattern).
from config.celery import app as celery_app

__all__ = ["celery_app"]
