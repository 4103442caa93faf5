"""The WSGI module every server process imports (`custody serve` → config.wsgi)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_startup_loads_every_url_and_api_then_exempts_them_from_the_garbage_collector():
    probe = "import gc, sys, config.wsgi; print(gc.get_freeze_count(), 'custodies.api' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    frozen, api_loaded = result.stdout.split()[-2:]
    # A full collection would otherwise walk these on every cycle, pausing every thread of the worker.
    assert int(frozen) > 50_000
    assert api_loaded == "True"
