"""The first-login tour: a few steps per role, each pointing at an element of the page (by CSS selector).

The steps render as JSON for core/static/custody/tour.js; a step whose element is not on the page (or
hidden, as in the phone menu) shows in the middle of the screen instead."""

from django.utils.translation import gettext_lazy as _

from accounts.choices import Role

WELCOME = {
    "selector": "",
    "title": _("Welcome to Custody"),
    "text": _("A short tour of what you will use most. You can skip it and take it again from Help."),
}
CUSTODIES = {
    "selector": "a[href='/custodies/']",
    "title": _("Custodies"),
    "text": _(
        "Every replacement-vehicle case of your branches: search, filter and open them here (shortcut g c)."
    ),
}
NEW = {
    "selector": "a[href='/custodies/new/']",
    "title": _("New custody"),
    "text": _("Open a custody from a rental agreement in a few steps; the draft saves itself (shortcut n)."),
}
APPROVALS = {
    "selector": "a[href='/approvals/']",
    "title": _("Approvals"),
    "text": _("Custodies waiting for your decision, with their SLA (shortcut g a)."),
}
CHARGES = {
    "selector": "a[href='/billing/charges/']",
    "title": _("Charges"),
    "text": _("Post, invoice and void charges, and follow balances."),
}
REPORTS = {
    "selector": "a[href='/reports/']",
    "title": _("Reports"),
    "text": _("KPIs and charts by period and branch; every list exports to CSV and Excel."),
}
ADMIN = {
    "selector": "a[href='/manage/']",
    "title": _("Admin"),
    "text": _("Users, configuration, integrations, monitoring and support tickets."),
}
BELL = {
    "selector": "#notification-bell",
    "title": _("Notifications"),
    "text": _("Approvals, SLA alerts and answers to your support tickets arrive here."),
}
HELP = {
    "selector": "#report-problem-link",
    "title": _("Help is always here"),
    "text": _(
        "Press ? for keyboard shortcuts. Report a problem from any page; the Help page answers common questions."
    ),
}

STEPS = {
    Role.VIEWER: [WELCOME, CUSTODIES, REPORTS, BELL, HELP],
    Role.OPERATOR: [WELCOME, CUSTODIES, NEW, BELL, HELP],
    Role.SUPERVISOR: [WELCOME, APPROVALS, CUSTODIES, NEW, BELL, HELP],
    Role.MANAGER: [WELCOME, APPROVALS, CUSTODIES, CHARGES, REPORTS, HELP],
    Role.FINANCE: [WELCOME, CHARGES, CUSTODIES, REPORTS, HELP],
    Role.ADMIN: [WELCOME, ADMIN, APPROVALS, CUSTODIES, REPORTS, HELP],
}


def steps_for(role: str) -> list[dict]:
    return [{k: str(v) for k, v in step.items()} for step in STEPS.get(role, STEPS[Role.VIEWER])]
