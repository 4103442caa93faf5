"""The approval-rule form of the admin configuration page: conditions and levels, never raw JSON."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.choices import Role

from .services import LEVEL_ROLES, MAX_LEVELS, RULE_FIELDS

MONEY = {"max_digits": 12, "decimal_places": 2, "min_value": 0}


def _level_role_choices():
    return [("", _("— none —"))] + [(r, Role(r).label) for r in LEVEL_ROLES]


class ApprovalRuleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    priority = forms.IntegerField(
        label=_("Order"),
        min_value=0,
        max_value=100_000,
        initial=100,
        help_text=_("Lower runs first; the first rule that matches decides."),
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    reason_codes = forms.MultipleChoiceField(
        label=_("Reasons"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: any reason."),
    )
    branch_codes = forms.MultipleChoiceField(
        label=_("Branches"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: any branch."),
    )
    custodian_types = forms.MultipleChoiceField(
        label=_("Custodian types"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: any."),
    )
    rate_policies = forms.MultipleChoiceField(
        label=_("Rate policies"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: any."),
    )
    min_damage_hold = forms.DecimalField(label=_("Damage hold at least"), required=False, **MONEY)
    max_damage_hold = forms.DecimalField(label=_("Damage hold at most"), required=False, **MONEY)
    min_estimated_cost = forms.DecimalField(
        label=_("Estimated replacement cost at least"), required=False, **MONEY
    )
    auto_approve = forms.BooleanField(label=_("Approve automatically (no levels)"), required=False)

    def __init__(self, *args, branches=(), **kwargs):
        from custodies.choices import CustodianType, RatePolicy, ReasonCode

        super().__init__(*args, **kwargs)
        self.fields["reason_codes"].choices = ReasonCode.choices
        self.fields["custodian_types"].choices = CustodianType.choices
        self.fields["rate_policies"].choices = RatePolicy.choices
        self.fields["branch_codes"].choices = [(b.code, f"{b.code} · {b.name}") for b in branches]
        for n in range(1, MAX_LEVELS + 1):
            self.fields[f"level_{n}_role"] = forms.ChoiceField(
                label=_("Level %(n)s: role") % {"n": n}, required=False, choices=_level_role_choices()
            )
            self.fields[f"level_{n}_due_hours"] = forms.DecimalField(
                label=_("Level %(n)s: due within (hours)") % {"n": n},
                required=False,
                min_value=0,
                max_digits=6,
                decimal_places=2,
                help_text=_("Empty: level 1 follows the SLA approve target, later levels the same hours."),
            )

    @staticmethod
    def initial_for(rule) -> dict:
        initial = {name: getattr(rule, name) for name in RULE_FIELDS if name != "levels"}
        for n, level in enumerate(rule.levels or [], start=1):
            initial[f"level_{n}_role"] = level.get("role", "")
            initial[f"level_{n}_due_hours"] = level.get("due_hours")
        return initial

    def level_rows(self):
        return [(self[f"level_{n}_role"], self[f"level_{n}_due_hours"]) for n in range(1, MAX_LEVELS + 1)]

    def condition_fields(self):
        return [self[name] for name in ("reason_codes", "branch_codes", "custodian_types", "rate_policies")]

    def to_data(self) -> dict:
        """The service's input: levels in order, gaps closed (an empty row between two roles is skipped)."""
        data = {k: v for k, v in self.cleaned_data.items() if not k.startswith("level_")}
        levels = []
        for n in range(1, MAX_LEVELS + 1):
            role = self.cleaned_data.get(f"level_{n}_role")
            hours = self.cleaned_data.get(f"level_{n}_due_hours")
            if role:
                levels.append({"role": role, "due_hours": hours})
            elif hours is not None:
                self.add_error(f"level_{n}_role", _("Choose the role of this level, or clear its hours."))
        data["levels"] = levels
        return data
