from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.utils.translation import gettext_lazy as _

from .choices import Language


class EmailLoginForm(AuthenticationForm):
    username = forms.EmailField(
        label=_("E-mail"), widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )
    error_messages = {
        "invalid_login": _("E-mail or password is wrong."),
        "inactive": _("This account is inactive."),
    }

    def clean_username(self):
        # One spelling per address: the lockout counts failures per username, so
        # "Ops@x.ae" and "ops@x.ae" must not each get their own five attempts.
        return self.cleaned_data["username"].lower()


class PreferencesForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=Language.choices)


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Token name"), max_length=100)


class QueuedPasswordResetForm(PasswordResetForm):
    """Queues the reset e-mail for the worker instead of sending it inside the request."""

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ):
        from .tasks import send_password_reset_email

        send_password_reset_email.enqueue(str(context["user"].pk), context["domain"], context["protocol"])
