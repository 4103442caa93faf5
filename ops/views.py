"""Health endpoints for load balancers, and the admin area's landing page."""

import uuid

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts import permissions

from . import health


@never_cache
def healthz(request):
    """Alive: the process answers. No dependencies checked."""
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request):
    """Ready: the database answers, file storage is writable, a worker is alive."""
    checks = {"database": health.database(), "storage": health.storage(), "worker": health.worker()}
    failed = {name: error for name, error in checks.items() if error}
    body = {
        "status": "ok" if not failed else "unavailable",
        "checks": {k: (v or "ok") for k, v in checks.items()},
    }
    return JsonResponse(body, status=200 if not failed else 503)


@login_required
def admin_home(request):
    if not permissions.may(request.user, "settings.manage"):
        raise PermissionDenied
    return render(request, "ops/admin_home.html")


@login_required
@require_POST
def switch_branch(request):
    """Remember which branch the lists are narrowed to (empty = all the user's branches)."""
    from fleet.selectors import branches_for

    branch_id = request.POST.get("branch_id", "")
    if branch_id:
        try:
            uuid.UUID(branch_id)
        except ValueError:
            branch_id = ""
    if branch_id and not branches_for(request.user).filter(id=branch_id).exists():
        branch_id = ""
    request.session["branch_id"] = branch_id
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return HttpResponseRedirect(target)


@login_required
def system(request):
    """Admin: maintenance mode, the new-custodies switch and the banner message."""
    from django.contrib import messages
    from django.shortcuts import redirect
    from django.utils.translation import gettext as _

    from core import switches
    from core.errors import DomainError

    from . import services
    from .forms import SystemSwitchesForm

    if not permissions.may(request.user, "settings.manage"):
        raise PermissionDenied
    current = switches.state()
    if request.method == "POST":
        form = SystemSwitchesForm(request.POST)
        if form.is_valid():
            try:
                services.set_switches(request.user, **form.cleaned_data)
            except DomainError as exc:
                for text in exc.messages():
                    form.add_error(None, text)
            else:
                messages.success(request, _("The switches are saved and every user was told."))
                return redirect("system")
    else:
        form = SystemSwitchesForm(
            initial={
                "maintenance_mode": current.maintenance_mode,
                "new_custodies_enabled": current.new_custodies_enabled,
                "message": current.message,
            }
        )
    return render(
        request, "ops/system.html", {"form": form, "current": current}, status=422 if form.errors else 200
    )


@login_required
def backups(request):
    """Admin: the last backups (newest first), take one now (worker), run verify."""
    from django.contrib import messages
    from django.shortcuts import redirect
    from django.utils.translation import gettext as _

    from . import backup
    from .tasks import backup_now
    from .verify import run_checks

    if not permissions.may(request.user, "settings.manage"):
        raise PermissionDenied
    violations = None
    if request.method == "POST" and request.POST.get("action") == "backup":
        backup_now.enqueue()
        messages.success(request, _("A backup was queued; the worker writes it in a moment."))
        return redirect("backups")
    if request.GET.get("verify"):  # a read: it works during maintenance too
        violations = run_checks()
    return render(
        request,
        "ops/backups.html",
        {
            "backups": backup.list_backups()[:20],
            "backup_root": backup.backup_root(),
            "violations": violations,
            "job": _backup_job(),
        },
    )


def _backup_job():
    from .jobs import all_jobs
    from .models import JobRun

    job = next((j for j in all_jobs() if j.name == "backup"), None)
    return {"job": job, "run": JobRun.objects.filter(name="backup").first()} if job else None
