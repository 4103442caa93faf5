from django import forms
from django.utils.translation import gettext_lazy as _

from .choices import IntegrationType
from .events import EVENT_TYPES


class EndpointForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    integration_type = forms.ChoiceField(label=_("Type"), choices=IntegrationType.choices)
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        label=_("Events (none = all)"),
        required=False,
        choices=[(e, e) for e in sorted(EVENT_TYPES)],
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
