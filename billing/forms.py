from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from .choices import ChargeStatus, ChargeType, PaymentMethod, Responsibility


class ChargeForm(forms.Form):
    charge_type = forms.ChoiceField(
        label=_("Type"), choices=[c for c in ChargeType.choices if c[0] != ChargeType.REPLACEMENT_RENTAL]
    )
    description = forms.CharField(label=_("Description"), max_length=200)
    quantity = forms.DecimalField(
        label=_("Qty"), min_value=Decimal("0.001"), max_digits=10, decimal_places=3, initial=1
    )
    unit_price = forms.DecimalField(label=_("Unit price"), min_value=0, max_digits=12, decimal_places=2)
    tax_rate = forms.DecimalField(
        label=_("VAT %"),
        min_value=0,
        max_value=100,
        max_digits=5,
        decimal_places=2,
        required=False,
        help_text=_("Empty: the default tax profile."),
    )
    responsibility = forms.ChoiceField(label=_("Who pays"), choices=Responsibility.choices)


class PaymentForm(forms.Form):
    KIND_CHOICES = [("payment", _("Payment")), ("refund", _("Refund"))]
    kind = forms.ChoiceField(label=_("Kind"), choices=KIND_CHOICES, initial="payment")
    amount = forms.DecimalField(label=_("Amount"), min_value=Decimal("0.01"), max_digits=12, decimal_places=2)
    method = forms.ChoiceField(label=_("Method"), choices=PaymentMethod.choices)
    payer = forms.ChoiceField(label=_("Payer"), choices=Responsibility.choices)
    reference = forms.CharField(label=_("Reference"), max_length=80, required=False)
    reason = forms.CharField(label=_("Reason (refunds)"), required=False)
    as_credit = forms.BooleanField(
        label=_("Record as a deposit / credit"),
        required=False,
        help_text=_("Only to take more than the payer owes on purpose."),
    )


class HoldForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Hold amount"), min_value=Decimal("0.01"), max_digits=12, decimal_places=2
    )
    reference = forms.CharField(label=_("Authorization reference"), max_length=80, required=False)


class ChargeFilterForm(forms.Form):
    status = forms.MultipleChoiceField(label=_("Status"), choices=ChargeStatus.choices, required=False)
    charge_type = forms.MultipleChoiceField(label=_("Type"), choices=ChargeType.choices, required=False)
    responsibility = forms.MultipleChoiceField(
        label=_("Who pays"), choices=Responsibility.choices, required=False
    )
    branch_id = forms.UUIDField(label=_("Branch"), required=False, widget=forms.Select)  # choices: the view
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
