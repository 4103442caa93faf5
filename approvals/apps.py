from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = _("Approvals")

    def ready(self):
        from custodies import hooks

        from . import custody_page, eligibility, services
        from .models import ApprovalRule

        services.RULES.watch(ApprovalRule)

        # custodies sits below us: its transitions and its page reach the approval chain through this.
        hooks.register_approvals(
            hooks.ApprovalChain(
                may_decide_any=eligibility.may_decide_any,
                current_level=services.current_level,
                why_cannot_decide=eligibility.why_cannot_decide,
                start=services.start_for_custody,
                decide=services.decide,
                activate_next_level=services.activate_next_level,
                skip_open_levels=services.skip_open_levels,
                escalate_overdue=services.escalate_overdue,
                rounds=custody_page.rounds,
                timeline=custody_page.timeline,
            )
        )
