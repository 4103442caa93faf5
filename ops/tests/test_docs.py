from pathlib import Path

from django.conf import settings

from ops.docs import render_state_machine


def test_the_state_machine_doc_matches_the_transition_table():
    path = Path(settings.BASE_DIR) / "docs" / "state-machines.md"
    assert path.read_text(encoding="utf-8") == render_state_machine(), "run `custody render-docs`"
