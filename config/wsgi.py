import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# Load every URL, view and API schema now, then exempt what startup made from the garbage collector:
# a full collection otherwise walks those ~150,000 objects and stops every thread of the worker for
# up to ~90 ms, the p95/p99 of requests that happen to be running (docs/performance.md, issue 14).
_ = get_resolver().reverse_dict  # imports every urlconf, view and API (the first reverse() would)
gc.freeze()
