"""The layering rules, checked instead of written down (docs/architecture.md).

1. Only writer modules change domain rows: `services.py` (or a `services/` package), migrations and
   tests. Anything else calling `.save()`, `.delete()`, `.update()`, `.create()`, `get_or_create`,
   `update_or_create` or `bulk_*` on a model, a manager or a queryset fails here, unless the file is
   in `ALLOWED` with the reason.
2. Django admin of a project model is read-only, or saves through an audited path.
3. Apps import only downward (`lint-imports`, the contract in pyproject.toml) with no exception left
   but tests and migrations; a lower app asks a higher one through a registration it fills at start-up,
   and every such slot is filled (`custodies.hooks`).
"""

import ast
from pathlib import Path

import pytest
from django.contrib import admin

ROOT = Path(__file__).resolve().parent.parent
SKIP_DIRS = {".venv", "node_modules", ".git", "var", "bench", "migrations", "tests", "locale", "static"}
WRITE_METHODS = {
    "save",
    "delete",
    "update",
    "create",
    "get_or_create",
    "update_or_create",
    "bulk_create",
    "bulk_update",
}
QUERYSET_METHODS = {
    "filter",
    "exclude",
    "all",
    "select_for_update",
    "select_related",
    "prefetch_related",
    "only",
    "defer",
    "order_by",
    "annotate",
    "using",
    "get",
    "first",
    "last",
    "latest",
}
# Receivers that are never model rows (forms, files, workbooks, sessions, caches).
NOT_MODELS = {
    "super",
    "form",
    "wb",
    "workbook",
    "storage",
    "default_storage",
    "image",
    "img",
    "session",
    "cache",
}

# file → why it may write directly. Keep this short: a new entry needs a reason a reviewer accepts.
ALLOWED = {
    "accounts/models.py": "User/ApiToken keep their own invariants (set_password, issue a token)",
    "accounts/api.py": "stamps a token's last use while authenticating (no domain state)",
    "custodies/numbers.py": "the custody number counter (a sequence, not domain state)",
    "integrations/events.py": "the outbox writer: `emit` appends the event row in the caller's transaction",
    "notifications/sending.py": "the delivery worker's own state machine (claim, sent, failed)",
    "documents/links.py": "signing links and signatures: the service behind the public signing page",
    "ops/idempotency.py": "Idempotency-Key replay cache (HTTP plumbing)",
    "ops/jobs.py": "job-run bookkeeping (JobRun, JobMarker, old task results); domain work calls services",
    "ops/models.py": "JobRun.get_or_create bookkeeping",
    "ops/management/commands/worker.py": "worker heartbeat row",
    "ops/demo_custodies.py": "demo story: backdates an SLA clock so every colour shows",
    "ops/importer.py": "the legacy CSV import service: bulk inserts of historical rows, each audited (source import)",
    "support/help_content.py": "seeds the built-in help articles",
    "documents/condition.py": "the condition report and damage-mark service (checklist diagram)",
    "monitoring/collector.py": "request and activity rollups (metrics bookkeeping, no domain state)",
    "monitoring/jobs.py": "probes and rollup retention (metrics bookkeeping)",
}


def _models_and_managers() -> tuple[set[str], set[str]]:
    from django.apps import apps

    models, accessors = set(), {"objects"}
    for model in apps.get_models():
        models.add(model.__name__)
        for rel in model._meta.related_objects:
            accessors.add(rel.get_accessor_name())
        for field in model._meta.many_to_many:
            accessors.add(field.name)
    return models, accessors


def _names_a_model(node, models, accessors) -> bool:
    """Is the receiver a model class, its manager, a queryset or a related manager?"""
    while True:
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr in QUERYSET_METHODS:
                return True
            node = node.func
        elif isinstance(node, ast.Attribute):
            if node.attr in accessors:
                return True
            node = node.value
        elif isinstance(node, ast.Name):
            return node.id in models or node.id == "cls"
        else:
            return False


def _project_files():
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if SKIP_DIRS & set(rel.parts) or rel.name.startswith("test_") or rel.name == "conftest.py":
            continue
        if rel.name == "services.py" or "services" in rel.parts[:-1] or len(rel.parts) == 1:
            continue
        yield rel, path


def direct_writes() -> list[str]:
    models, accessors = _models_and_managers()
    found = []
    for rel, path in _project_files():
        if rel.as_posix() in ALLOWED:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            method, receiver = node.func.attr, node.func.value
            if method not in WRITE_METHODS:
                continue
            text = ast.unparse(receiver)
            head = text.split(".")[0].split("(")[0]
            if head in NOT_MODELS or "form" in head.lower():
                continue
            instance_write = method in ("save", "delete") and isinstance(receiver, (ast.Name, ast.Attribute))
            if instance_write or _names_a_model(receiver, models, accessors):
                found.append(f"{rel}:{node.lineno} {text}.{method}()")
    return found


def test_only_services_write_domain_rows():
    assert direct_writes() == [], "call a service instead (or add the file to ALLOWED with a reason)"


def test_the_allow_list_has_no_stale_entries():
    for rel in ALLOWED:
        assert (ROOT / rel).exists(), rel


def _project_admins():
    from django.conf import settings

    project_apps = {
        name.split(".")[0] for name in settings.INSTALLED_APPS if (ROOT / name.split(".")[0]).is_dir()
    }
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label in project_apps:
            yield model, model_admin


@pytest.mark.django_db
def test_django_admin_is_read_only_or_audited(admin_user, rf):
    from audit.admin_mixins import AuditedAdmin
    from fleet.admin import ThroughServices

    request = rf.get("/")
    request.user = admin_user
    open_admins = []
    for model, model_admin in _project_admins():
        writes = model_admin.has_add_permission(request) or model_admin.has_change_permission(request)
        audited = isinstance(model_admin, AuditedAdmin | ThroughServices) or (
            type(model_admin).save_model is not admin.ModelAdmin.save_model
        )
        if writes and not audited:
            open_admins.append(model._meta.label)
    assert open_admins == [], open_admins


def test_every_cited_design_section_exists():
    """`DESIGN §N` in code and docs means section N of docs/design.md."""
    import re

    headings = set(re.findall(r"^#+ (\d+(?:\.\d+)?)\.? ", (ROOT / "docs/design.md").read_text(), re.M))
    cited = set()
    for path in ROOT.rglob("*"):
        rel = path.relative_to(ROOT)
        if SKIP_DIRS & set(rel.parts) or path.suffix not in (".py", ".html", ".md") or not path.is_file():
            continue
        cited |= {
            m.rstrip(".") for m in re.findall(r"DESIGN §(\d+(?:\.\d+)?)", path.read_text(errors="ignore"))
        }
    assert cited and cited <= headings, sorted(cited - headings)


def test_the_layers_contract_ignores_only_tests_and_migrations():
    """No upward import is waved through: a lower app that needs a higher one gets a registration."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (layers,) = [c for c in config["contracts"] if c["type"] == "layers"]
    assert layers["ignore_imports"] == ["*.tests.** -> **", "*.migrations.** -> **"]


def test_every_custody_hook_is_filled_by_its_app():
    """What custodies asks of approvals, billing and documents is registered at start-up, every field."""
    import dataclasses

    from custodies import hooks

    for slot, kind in (
        ("approvals", hooks.ApprovalChain),
        ("billing", hooks.CustodyBilling),
        ("documents", hooks.CustodyDocuments),
    ):
        registered = getattr(hooks, slot)
        assert isinstance(registered, kind), slot
        assert all(callable(getattr(registered, f.name)) for f in dataclasses.fields(kind)), slot
