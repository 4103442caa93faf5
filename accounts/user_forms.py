from django import forms
from django.utils.translation import gettext_lazy as _

from .choices import Language, Role


class UserForm(forms.Form):
    """Invite (with e-mail) or edit a user; the service validates the rules, the form only the shapes."""

    email = forms.EmailField(label=_("E-mail"), max_length=254)
    full_name = forms.CharField(label=_("Full name"), max_length=150, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=30, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    all_branches = forms.BooleanField(label=_("All branches"), required=False)
    branches = forms.MultipleChoiceField(
        label=_("Branches"), required=False, widget=forms.CheckboxSelectMultiple
    )
    language = forms.ChoiceField(label=_("Language"), choices=Language.choices, initial=Language.ENGLISH)

    def __init__(self, *args, branches=(), editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branches"].choices = [(str(b.pk), f"{b.code} · {b.name}") for b in branches]
        if editing:
            del self.fields["email"]
            # The version the admin read: a change saved meanwhile is refused, not overwritten.
            self.fields["version"] = forms.IntegerField(widget=forms.HiddenInput, required=False)
