from django import forms
from django.utils.translation import gettext_lazy as _

from .services import MESSAGE_MAX


class SystemSwitchesForm(forms.Form):
    maintenance_mode = forms.BooleanField(
        label=_("Maintenance mode (read-only)"),
        required=False,
        help_text=_("Every change is refused with a notice; looking things up and signing in keep working."),
    )
    new_custodies_enabled = forms.BooleanField(
        label=_("New custodies allowed"),
        required=False,
        help_text=_("Off: nobody can open a new custody; running custodies continue."),
    )
    message = forms.CharField(
        label=_("Message to users"),
        required=False,
        max_length=MESSAGE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown in the banner on every page, e.g. when maintenance ends."),
    )
