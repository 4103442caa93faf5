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


def save_report(text: str, output: str | None) -> None:
    """Also write the report to `output` (a bench script's --output), creating its folder."""
    if output:
        path = Path(output)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
