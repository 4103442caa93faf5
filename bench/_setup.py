"""Make the repository importable and Django configured for the bench scripts (run from anywhere)."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def django_setup() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


BENCH_PASSWORD = "Bench-Pass-2026"
ADMIN_EMAIL = "bench-admin@bench.example"


def operator_email(branch_code: str) -> str:
    return f"bench-op-{branch_code.lower()}@bench.example"
