from django import forms
from django.utils.translation import gettext_lazy as _

from .choices import AnnouncementLevel, Severity


class ReportForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=200)
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices, initial=Severity.NORMAL)
    description = forms.CharField(
        label=_("What happened?"), widget=forms.Textarea(attrs={"rows": 4}), max_length=10_000
    )
    attachment = forms.FileField(label=_("Screenshot or file (optional)"), required=False)
    page_url = forms.CharField(widget=forms.HiddenInput, required=False, max_length=500)
    request_id = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)


class AnnouncementForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(
        label=_("Message"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=5000
    )
    level = forms.ChoiceField(label=_("Level"), choices=AnnouncementLevel.choices)
    ends_at = forms.DateTimeField(
        label=_("Show the banner until (optional)"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M"],
    )
