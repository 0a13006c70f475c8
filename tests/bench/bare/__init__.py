"""Bare baselines: a Django project with no apps and no middleware, and a bare Celery app."""
