"""Page forms for signing: the checklist (handover/return) and the signer's details."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .services import CHECKLIST_ITEMS, CHECKLIST_STATES

FUEL_CHOICES = [("", "—")] + [(str(n), f"{n}/8") for n in range(9)]


class ChecklistForm(forms.Form):
    fuel_level = forms.TypedChoiceField(label=_("Fuel level"), choices=FUEL_CHOICES, coerce=int)
    odometer_km = forms.IntegerField(label=_("Odometer (km)"), min_value=0, max_value=2_000_000)
    notes = forms.CharField(
        label=_("Notes"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for key, label in CHECKLIST_ITEMS:
            self.fields[f"item_{key}"] = forms.ChoiceField(
                label=label,
                choices=list(CHECKLIST_STATES.items()),
                initial="ok",
                widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
            )
            self.fields[f"note_{key}"] = forms.CharField(
                label=_("Note"),
                max_length=200,
                required=False,
                widget=forms.TextInput(
                    attrs={"class": "form-control form-control-sm", "placeholder": _("Describe any damage")}
                ),
            )
        self.fields["fuel_level"].widget.attrs["class"] = "form-select"
        self.fields["odometer_km"].widget.attrs.update({"class": "form-control", "inputmode": "numeric"})
        self.fields["notes"].widget.attrs["class"] = "form-control"

    def clean(self):
        data = super().clean()
        for key, _label in CHECKLIST_ITEMS:
            if data.get(f"item_{key}") == "issue" and not (data.get(f"note_{key}") or "").strip():
                self.add_error(f"note_{key}", _("Describe the damage or issue."))
        return data

    def rows(self):
        return [(self[f"item_{key}"], self[f"note_{key}"]) for key, _label in CHECKLIST_ITEMS]


class SignForm(forms.Form):
    signer_name = forms.CharField(
        label=_("Signer's full name"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "name"}),
    )
    signature = forms.CharField(required=False, widget=forms.HiddenInput(attrs={"data-signature-input": ""}))
    content_sha256 = forms.CharField(required=False, widget=forms.HiddenInput)
    decline_reason = forms.CharField(
        label=_("Reason for declining"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 2}),
    )
