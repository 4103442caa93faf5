"""Page forms for quotes: filters, the header, the lines (a formset) and the cost sheet inputs."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .choices import QuoteStatus
from .models import MAX_TERM_MONTHS


def _blank(label):
    return [("", label)]


class QuoteFilterForm(forms.Form):
    q = forms.CharField(required=False, label=_("Search"))
    status = forms.MultipleChoiceField(
        required=False, label=_("Status"), choices=QuoteStatus.choices, widget=forms.CheckboxSelectMultiple
    )
    customer_id = forms.ChoiceField(required=False, label=_("Customer"))
    branch_id = forms.ChoiceField(required=False, label=_("Branch"))
    valid_from = forms.DateField(
        required=False, label=_("Valid until from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    valid_to = forms.DateField(
        required=False, label=_("Valid until to"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, branches=(), customers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch_id"].choices = _blank(_("Any branch")) + [(str(b.pk), b.code) for b in branches]
        self.fields["customer_id"].choices = _blank(_("Any customer")) + [(str(pk), n) for pk, n in customers]

    def clean(self):
        data = super().clean()
        if data.get("valid_from") and data.get("valid_to") and data["valid_to"] < data["valid_from"]:
            self.add_error("valid_to", _("Must not be before the start date."))
        return data


class QuoteHeaderForm(forms.Form):
    customer_id = forms.ChoiceField(label=_("Customer"))
    branch_id = forms.ChoiceField(label=_("Branch"))
    valid_until = forms.DateField(label=_("Valid until"), widget=forms.DateInput(attrs={"type": "date"}))
    vat_rate = forms.DecimalField(
        label=_("VAT %"),
        min_value=0,
        max_value=100,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01"}),
    )
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, customers=(), branches=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer_id"].choices = _blank("—") + [
            (str(c.pk), f"{c.full_name} ({c.customer_no})") for c in customers
        ]
        self.fields["branch_id"].choices = [(str(b.pk), f"{b.code} · {b.name}") for b in branches]


class LineForm(forms.Form):
    id = forms.CharField(required=False, widget=forms.HiddenInput)
    vehicle_class_id = forms.ChoiceField(label=_("Vehicle class"), required=False)
    vehicle_id = forms.ChoiceField(label=_("Vehicle"), required=False)
    description = forms.CharField(label=_("Description"), required=False, max_length=200)
    quantity = forms.IntegerField(label=_("Qty"), min_value=1, max_value=1000, initial=1)
    term_months = forms.IntegerField(label=_("Months"), min_value=1, max_value=MAX_TERM_MONTHS, initial=24)
    monthly_rate = forms.DecimalField(label=_("Monthly rate"), min_value=0, decimal_places=2, max_digits=12)
    maintenance_included = forms.BooleanField(label=_("Maintenance"), required=False)
    roadside_included = forms.BooleanField(label=_("Roadside"), required=False)
    replacement_included = forms.BooleanField(label=_("Replacement"), required=False)

    def __init__(self, *args, classes=(), vehicles=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["vehicle_class_id"].choices = _blank("—") + [(str(c.pk), c.code) for c in classes]
        self.fields["vehicle_id"].choices = _blank(_("Any of the class")) + [
            (str(v.pk), f"{v.plate} · {v.make} {v.model}") for v in vehicles
        ]
        for name, field in self.fields.items():
            if isinstance(field.widget, forms.CheckboxInput):
                field.widget.attrs["class"] = "form-check-input"
            elif isinstance(field.widget, forms.Select):
                field.widget.attrs["class"] = "form-select form-select-sm"
            elif name != "id":
                field.widget.attrs["class"] = "form-control form-control-sm"
        self.fields["monthly_rate"].widget.attrs["inputmode"] = "decimal"


LineFormSet = forms.formset_factory(LineForm, extra=0, can_delete=True, max_num=100, validate_max=True)
