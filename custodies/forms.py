"""Page forms for custodies: list filters, the new-custody wizard steps and the action modals.

Forms only parse and present input; every rule lives in custodies.services / custodies.rules,
whose ValidationFailed details are mapped back onto these fields (see `add_service_errors`).
"""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from core.widgets import FastDateInput, FastSelect, FastTextInput, FlatChoices
from fleet import selectors as fleet_selectors

from .choices import (
    SUBCODES_BY_REASON,
    CustodianType,
    CustodyStatus,
    RatePolicy,
    ReasonCode,
    ReasonSubcode,
    SlaState,
)

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
FUEL_CHOICES = [(i, _("Empty") if i == 0 else _("Full") if i == 8 else f"{i}/8") for i in range(9)]


def datetime_input():
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT)


def _blank(label):
    return [("", label)]


# ---- list filters ------------------------------------------------------------------------------

SELECT_CSS = "form-select form-select-sm"
INPUT_CSS = "form-control form-control-sm"


class CustodyFilterForm(forms.Form):
    q = forms.CharField(required=False, label=_("Search"))
    status = forms.MultipleChoiceField(
        required=False, label=_("Status"), choices=CustodyStatus.choices, widget=forms.CheckboxSelectMultiple
    )
    reason_code = forms.ChoiceField(
        required=False, label=_("Reason"), widget=FastSelect(options_key="custody-filter:reason_code")
    )
    branch_id = forms.ChoiceField(required=False, label=_("Branch"), widget=FastSelect)
    custodian_type = forms.ChoiceField(
        required=False, label=_("Custodian"), widget=FastSelect(options_key="custody-filter:custodian_type")
    )
    customer_id = forms.ChoiceField(required=False, label=_("Customer"), widget=FastSelect)
    agreement_no = forms.CharField(required=False, label=_("Agreement no."), widget=FastTextInput)
    plate = forms.CharField(required=False, label=_("Plate"), widget=FastTextInput)
    date_from = forms.DateField(
        required=False, label=_("Created from"), widget=FastDateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label=_("Created to"), widget=FastDateInput(attrs={"type": "date"})
    )
    sla_state = forms.ChoiceField(
        required=False, label=_("SLA"), widget=FastSelect(options_key="custody-filter:sla_state")
    )
    overdue = forms.ChoiceField(
        required=False,
        label=_("Overdue"),
        choices=[("", _("Any")), ("1", _("Past expected return"))],
        widget=FastSelect(options_key="custody-filter:overdue"),
    )

    def __init__(self, *args, branches=(), customers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason_code"].choices = _blank(_("Any reason")) + list(ReasonCode.choices)
        self.fields["branch_id"].choices = FlatChoices(
            _blank(_("Any branch")) + [(str(b.pk), b.code) for b in branches]
        )
        self.fields["custodian_type"].choices = _blank(_("Any custodian")) + list(CustodianType.choices)
        self.fields["customer_id"].choices = FlatChoices(
            _blank(_("Any customer")) + [(str(pk), name) for pk, name in customers]
        )
        self.fields["sla_state"].choices = _blank(_("Any SLA state")) + list(SlaState.choices)

    def status_buttons(self) -> list[tuple[str, str, bool]]:
        """(value, label, checked) of the status toggles above the list."""
        chosen = self["status"].value() or ()
        return [(value, label, value in chosen) for value, label in self.fields["status"].choices]

    def more_filters(self) -> list[tuple[str, str, str]]:
        """(id, label, widget) of the fields under "More filters" (all but the search and the statuses),
        each widget with the filter bar's Bootstrap classes (and is-invalid when its value is not)."""
        from core.templatetags.ui import add_class

        shown = []
        for field in self:
            if field.name in ("q", "status"):
                continue
            css = SELECT_CSS if isinstance(field.field.widget, forms.Select) else INPUT_CSS
            shown.append((field.id_for_label, field.label, add_class(field, css)))
        return shown

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", _("Must not be before the start date."))
        return data


# ---- wizard steps --------------------------------------------------------------------------------


class StepForm(forms.Form):
    """A wizard step: the hidden version guards against saving over someone else's change."""

    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    # Field names of the step that are sent to services.update_custody.
    service_fields: tuple[str, ...] = ()

    def service_data(self) -> dict:
        data = {}
        for name in self.service_fields:
            value = self.cleaned_data.get(name)
            if isinstance(value, str):
                value = value.strip()
            data[name] = value
        return data


class AgreementStepForm(StepForm):
    agreement_id = forms.UUIDField(required=False, widget=forms.HiddenInput)
    customer_id = forms.UUIDField(required=False, widget=forms.HiddenInput)
    original_vehicle_id = forms.UUIDField(required=False, widget=forms.HiddenInput)
    branch_id = forms.ChoiceField(label=_("Branch"), required=False)
    reason_code = forms.ChoiceField(label=_("Reason"), required=False)
    service_fields = ("agreement_id", "customer_id", "original_vehicle_id", "branch_id")

    def __init__(self, *args, branches=(), creating=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.creating = creating
        self.fields["branch_id"].choices = _blank(_("Choose…")) + [
            (str(b.pk), f"{b.code} · {b.name}") for b in branches
        ]
        if creating:
            self.fields["reason_code"].choices = _blank(_("Choose…")) + list(ReasonCode.choices)
            self.fields["reason_code"].required = True
            self.service_fields = (*self.service_fields, "reason_code")
        else:
            del self.fields["reason_code"]

    def clean(self):
        data = super().clean()
        if not data.get("agreement_id"):
            if not data.get("customer_id"):
                self.add_error("customer_id", _("Pick a rental agreement, or the customer."))
            if not data.get("branch_id"):
                self.add_error("branch_id", _("Choose the branch."))
        return data


class ReasonStepForm(StepForm):
    reason_code = forms.ChoiceField(
        label=_("Reason"), choices=_blank(_("Choose…")) + list(ReasonCode.choices)
    )
    reason_subcode = forms.ChoiceField(
        label=_("Reason detail"), required=False, choices=_blank("—") + list(ReasonSubcode.choices)
    )
    incident_at = forms.DateTimeField(label=_("Incident time"), widget=datetime_input())
    incident_ref = forms.CharField(
        label=_("Incident reference"),
        required=False,
        max_length=60,
        help_text=_("Police or workshop reference, if any."),
    )
    incident_location = forms.CharField(label=_("Incident location"), required=False, max_length=200)
    incident_odometer_km = forms.IntegerField(
        label=_("Odometer at incident (km)"), required=False, min_value=0
    )
    incident_narrative = forms.CharField(
        label=_("What happened"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    service_fields = (
        "reason_code",
        "reason_subcode",
        "incident_at",
        "incident_ref",
        "incident_location",
        "incident_odometer_km",
        "incident_narrative",
    )

    def clean(self):
        data = super().clean()
        reason, subcode = data.get("reason_code"), data.get("reason_subcode")
        if reason and subcode and subcode not in SUBCODES_BY_REASON.get(reason, []):
            self.add_error("reason_subcode", _("This detail does not belong to the chosen reason."))
        return data


class CustodianStepForm(StepForm):
    custodian_type = forms.ChoiceField(
        label=_("Who holds the vehicle"),
        choices=CustodianType.choices,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    custodian_name = forms.CharField(label=_("Name"), max_length=200)
    custodian_phone = forms.CharField(label=_("Phone"), required=False, max_length=30)
    custodian_email = forms.EmailField(label=_("E-mail"), required=False)
    custodian_id_no = forms.CharField(label=_("ID no. (Emirates ID)"), required=False, max_length=40)
    service_fields = (
        "custodian_type",
        "custodian_name",
        "custodian_phone",
        "custodian_email",
        "custodian_id_no",
    )


class ReplacementStepForm(StepForm):
    replacement_vehicle_id = forms.UUIDField(required=False)
    effective_from = forms.DateTimeField(label=_("Effective from"), widget=datetime_input())
    expected_return_at = forms.DateTimeField(
        label=_("Expected return"), required=False, widget=datetime_input()
    )
    until_original_ready = forms.BooleanField(
        label=_("Until the original is ready (open-ended)"), required=False
    )
    no_replacement_needed = forms.BooleanField(label=_("No replacement needed"), required=False)
    no_replacement_reason = forms.CharField(
        label=_("Why no replacement"),
        required=False,
        max_length=200,
        help_text=_("For example: the customer has another car, or declined a replacement."),
    )
    service_fields = (
        "replacement_vehicle_id",
        "effective_from",
        "expected_return_at",
        "until_original_ready",
        "no_replacement_needed",
        "no_replacement_reason",
    )

    def clean(self):
        data = super().clean()
        if data.get("until_original_ready"):
            data["expected_return_at"] = None
        return data


class RateStepForm(StepForm):
    rate_policy = forms.ChoiceField(
        label=_("Rate policy"),
        choices=RatePolicy.choices,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    special_rate_code_id = forms.ChoiceField(label=_("Special rate code"), required=False)
    damage_hold_amount = forms.DecimalField(
        label=_("Damage hold"), required=False, min_value=Decimal("0"), max_digits=12, decimal_places=2
    )
    damage_hold_ref = forms.CharField(label=_("Damage hold reference"), required=False, max_length=60)
    deposit_carryover = forms.DecimalField(
        label=_("Deposit carried over"),
        required=False,
        min_value=Decimal("0"),
        max_digits=12,
        decimal_places=2,
    )
    insurer_name = forms.CharField(label=_("Insurer"), required=False, max_length=120)
    insurance_policy_no = forms.CharField(label=_("Policy no."), required=False, max_length=60)
    claim_no = forms.CharField(label=_("Claim no."), required=False, max_length=60)
    claim_status = forms.CharField(label=_("Claim status"), required=False, max_length=40)
    insurer_authorization_no = forms.CharField(label=_("Authorization no."), required=False, max_length=60)
    authorized_daily_rate_cap = forms.DecimalField(
        label=_("Authorized daily rate cap"),
        required=False,
        min_value=Decimal("0"),
        max_digits=12,
        decimal_places=2,
    )
    authorized_max_days = forms.IntegerField(label=_("Authorized max days"), required=False, min_value=0)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    service_fields = (
        "rate_policy",
        "special_rate_code_id",
        "damage_hold_amount",
        "damage_hold_ref",
        "deposit_carryover",
        "insurer_name",
        "insurance_policy_no",
        "claim_no",
        "claim_status",
        "insurer_authorization_no",
        "authorized_daily_rate_cap",
        "authorized_max_days",
        "notes",
    )
    insurance_fields = (
        "insurer_name",
        "insurance_policy_no",
        "claim_no",
        "claim_status",
        "insurer_authorization_no",
        "authorized_daily_rate_cap",
        "authorized_max_days",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        codes = fleet_selectors.special_rate_codes().filter(active=True).order_by("code")
        self.fields["special_rate_code_id"].choices = _blank(_("Choose…")) + [
            (str(c.pk), f"{c.code} · {c.description} ({c.daily_rate})") for c in codes
        ]

    def clean(self):
        data = super().clean()
        if data.get("rate_policy") != RatePolicy.SPECIAL_CODE:
            data["special_rate_code_id"] = None
        elif not data.get("special_rate_code_id"):
            self.add_error("special_rate_code_id", _("Choose the special rate code."))
        for name in ("damage_hold_amount", "deposit_carryover"):
            if data.get(name) is None:
                data[name] = Decimal("0")
        return data


STEP_FORMS = {
    "agreement": AgreementStepForm,
    "reason": ReasonStepForm,
    "custodian": CustodianStepForm,
    "replacement": ReplacementStepForm,
    "rate": RateStepForm,
}


# ---- action modals -----------------------------------------------------------------------------


class SubmitForm(forms.Form):
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)


class ApproveForm(forms.Form):
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))


class HandoverForm(forms.Form):
    replacement_vehicle_id = forms.ChoiceField(label=_("Replacement vehicle"), required=False)
    odometer_km = forms.IntegerField(label=_("Odometer (km)"), required=False, min_value=0)
    fuel_level = forms.TypedChoiceField(
        label=_("Fuel level"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=_blank("—") + FUEL_CHOICES,
    )
    handed_over_at = forms.DateTimeField(label=_("Handed over at"), required=False, widget=datetime_input())
    notes = forms.CharField(
        label=_("Damage / handover notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, vehicles=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["replacement_vehicle_id"].choices = _blank(_("No replacement")) + [
            (str(v.pk), f"{v.plate} · {v.make} {v.model} ({v.vehicle_class.code})") for v in vehicles
        ]

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        if not data.get("handed_over_at"):
            data.pop("handed_over_at", None)
        if not data.get("replacement_vehicle_id"):
            data.pop("replacement_vehicle_id", None)
        return data


class _RenderedElsewhere(forms.MultipleHiddenInput):
    def render(self, name, value, attrs=None, renderer=None):
        return ""


class CloseForm(forms.Form):
    returned_at = forms.DateTimeField(label=_("Returned at"), widget=datetime_input())
    odometer_km = forms.IntegerField(label=_("Odometer (km)"), required=False, min_value=0)
    fuel_level = forms.TypedChoiceField(
        label=_("Fuel level"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=_blank("—") + FUEL_CHOICES,
    )
    notes = forms.CharField(label=_("Return notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    original_ready = forms.BooleanField(label=_("The original vehicle is ready"), required=False)
    original_critical_problem = forms.BooleanField(
        label=_("The original has a critical problem"), required=False
    )
    # Ticked in the suggestions block the dialog loads from billing (fuel, excess km); that block renders them.
    accept_suggestions = forms.MultipleChoiceField(
        required=False, choices=[("fuel", "fuel"), ("excess_km", "excess_km")], widget=_RenderedElsewhere
    )

    def service_data(self) -> dict:
        return dict(self.cleaned_data)


ACTION_FORMS = {
    "submit": SubmitForm,
    "approve": ApproveForm,
    "reject": ReasonForm,
    "void": ReasonForm,
    "handover": HandoverForm,
    "close": CloseForm,
}


def add_service_errors(form: forms.Form, details: dict, message: str = "") -> None:
    """Put ValidationFailed.details next to the form's fields; the rest become form-wide errors."""
    placed = False
    for key, messages in (details or {}).items():
        if key == "warnings":
            continue
        if isinstance(messages, str):
            messages = [messages]
        if not isinstance(messages, list | tuple):
            continue
        name = key if key in form.fields else f"{key}_id" if f"{key}_id" in form.fields else None
        if name is None and key.endswith("_id") and key[:-3] in form.fields:
            name = key[:-3]
        for text in messages:
            if name:
                form.add_error(name, str(text))
            else:
                form.add_error(None, str(text))
            placed = True
    if not placed and message:
        form.add_error(None, message)
