"""Support pages: report a problem (from every page), tickets, comments, the survey, announcements."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import User
from core.errors import DomainError
from core.pagination import paginate

from . import selectors, services
from .choices import TicketStatus
from .forms import AnnouncementForm, ReportForm
from .models import Announcement, SupportTicket


def _back(request, fallback="dashboard"):
    target = request.POST.get("page_url") or request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)
    return redirect(fallback)


@login_required
def report(request):
    """The "Report a problem" form: a full page (GET) and the target of the dialog on every page (POST)."""
    form = ReportForm(
        request.POST or None,
        request.FILES or None,
        initial={
            "page_url": request.GET.get("page_url", ""),
            "request_id": request.GET.get("request_id", ""),
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ticket = services.create_ticket(
                request.user,
                subject=data["subject"],
                description=data["description"],
                severity=data["severity"],
                page_url=data["page_url"],
                request_id=data["request_id"],
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
                attachment=data.get("attachment"),
            )
        except DomainError as exc:
            for message in exc.messages():
                form.add_error(None, message)
        else:
            messages.success(
                request,
                _("Thank you. Your report %(no)s was sent to the administrators.") % {"no": ticket.ticket_no},
            )
            return redirect("support:detail", ticket_id=ticket.pk)
    return render(request, "support/report.html", {"form": form}, status=422 if form.errors else 200)


@login_required
def ticket_list(request):
    params = request.GET
    statuses = params.getlist("status")
    qs = selectors.tickets_for(
        request.user, status=statuses, q=params.get("q", ""), assigned_to_me=params.get("mine") == "1"
    )
    try:
        page = paginate(qs, params=params, path=request.path, allowed_orderings=selectors.TICKET_ORDERINGS)
    except DomainError:
        return redirect("support:list")
    return render(
        request,
        "support/list.html",
        {
            "page": page,
            "statuses": TicketStatus.choices,
            "status": statuses[0] if statuses else "",
            "q": params.get("q", ""),
            "staff": services.is_staff(request.user),
        },
    )


def _ticket(request, ticket_id) -> SupportTicket:
    try:
        return selectors.ticket_for(request.user, ticket_id)
    except SupportTicket.DoesNotExist as exc:
        raise Http404 from exc


@login_required
def ticket_detail(request, ticket_id):
    ticket = _ticket(request, ticket_id)
    staff = services.is_staff(request.user)
    mine = ticket.reporter_id == request.user.pk
    context = {
        "ticket": ticket,
        "comments": ticket.comments.select_related("author"),
        "allowed": [(s, TicketStatus(s).label) for s in services.allowed_statuses(request.user, ticket)],
        "staff": staff,
        "admins": User.objects.filter(is_active=True, role="admin").only("id", "email", "full_name")
        if staff
        else [],
        "rate": mine
        and ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
        and not selectors.has_rated(request.user, ticket),
    }
    return render(request, "support/detail.html", context)


def _ticket_action(request, ticket_id, action):
    ticket = _ticket(request, ticket_id)
    try:
        action(ticket)
    except DomainError as exc:
        messages.error(request, exc.message)
    # PermissionDenied is not caught: a role that may not gets the 403 page, as everywhere
    return redirect("support:detail", ticket_id=ticket.pk)


@login_required
@require_POST
def ticket_status(request, ticket_id):
    return _ticket_action(
        request, ticket_id, lambda t: services.change_status(request.user, t, request.POST.get("status", ""))
    )


@login_required
@require_POST
def ticket_assign(request, ticket_id):
    def assign(ticket):
        value = request.POST.get("assignee_id") or None
        assignee = User.objects.filter(pk=value, is_active=True).first() if value else None
        services.assign(request.user, ticket, assignee)

    return _ticket_action(request, ticket_id, assign)


@login_required
@require_POST
def ticket_comment(request, ticket_id):
    return _ticket_action(
        request, ticket_id, lambda t: services.add_comment(request.user, t, request.POST.get("body"))
    )


@login_required
def ticket_attachment(request, ticket_id):
    ticket = _ticket(request, ticket_id)
    if not ticket.attachment:
        raise Http404
    response = FileResponse(
        ticket.attachment.open("rb"),
        as_attachment=True,
        filename=ticket.attachment_name,
        content_type=ticket.attachment_content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_POST
def feedback(request):
    """The satisfaction question: after a resolved ticket (ticket_id) or the monthly survey."""
    ticket = _ticket(request, request.POST["ticket_id"]) if request.POST.get("ticket_id") else None
    if request.POST.get("skip") and ticket is None:
        services.skip_survey(request.user)
    else:
        try:
            services.submit_feedback(
                request.user, request.POST.get("score"), request.POST.get("comment", ""), ticket=ticket
            )
        except DomainError as exc:
            messages.error(request, exc.message)
            return _back(request)
        messages.success(request, _("Thank you for your answer."))
    request.session.pop("survey_due", None)
    return _back(request)


@login_required
def announcements(request):
    may_post = services.is_staff(request.user)
    form = AnnouncementForm(request.POST or None)
    if request.method == "POST":
        if not may_post:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.post_announcement(request.user, **form.cleaned_data)
            except DomainError as exc:
                for message in exc.messages():
                    form.add_error(None, message)
            else:
                messages.success(request, _("The announcement was posted to every user."))
                return redirect("support:announcements")
    return render(
        request,
        "support/announcements.html",
        {"form": form, "may_post": may_post, "items": Announcement.objects.select_related("created_by")[:50]},
    )


@login_required
@require_POST
def announcement_end(request, announcement_id):
    try:
        announcement = Announcement.objects.get(pk=announcement_id)
    except (Announcement.DoesNotExist, ValueError) as exc:
        raise Http404 from exc
    services.end_announcement(request.user, announcement)
    messages.success(request, _("The announcement no longer shows."))
    return redirect("support:announcements")


@require_POST
def announcement_dismiss(request, announcement_id):
    """Hide one banner for this session."""
    dismissed = set(request.session.get("dismissed_announcements", []))
    dismissed.add(str(announcement_id))
    request.session["dismissed_announcements"] = sorted(dismissed)[-20:]
    return _back(request)


@login_required
def extras(request):
    """Announcement banners, loaded by HTMX after each page (so the page itself needs no query)."""
    dismissed = set(request.session.get("dismissed_announcements", []))
    banners = [a for a in selectors.current_announcements() if str(a.pk) not in dismissed]
    return render(
        request, "support/_banners.html", {"announcements": banners, "next": request.GET.get("next", "")}
    )
