"""Bench-only settings: the production settings plus DRF and the comparison views (bench/urls.py).

Never used in production: `bench/side_by_side.py` starts gunicorn with
DJANGO_SETTINGS_MODULE=bench.settings so every contender runs in the same server processes.
"""

from config.settings import *  # noqa: F403
from config.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "rest_framework"]
ROOT_URLCONF = "bench.urls"
# The pages' p95 is a server time (issue 14): side_by_side reads it from this header.
CUSTODY_SERVER_TIMING = True
# The floor views carry no authentication: they measure the framework, not our auth.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
