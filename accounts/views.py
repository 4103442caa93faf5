from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import services
from .forms import EmailLoginForm, PreferencesForm, QueuedPasswordResetForm, TokenForm
from .models import ApiToken
from .tokens import set_password_token_generator


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = EmailLoginForm
    redirect_authenticated_user = True


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:settings")

    def form_valid(self, form):
        response = super().form_valid(form)
        services.password_changed(form.user, how="changed")
        messages.success(self.request, _("Your password was changed."))
        return response


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    form_class = QueuedPasswordResetForm
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:login")

    def form_valid(self, form):
        response = super().form_valid(form)
        services.password_changed(form.user, how="reset by e-mail link")
        messages.success(self.request, _("Your password was set. Log in with it now."))
        return response


class SetPasswordView(auth_views.PasswordResetConfirmView):
    """The link of an invitation or of an admin's reset (accounts.tokens): choose a password, then log in."""

    template_name = "accounts/set_password.html"
    token_generator = set_password_token_generator
    success_url = reverse_lazy("accounts:login")

    def form_valid(self, form):
        response = super().form_valid(form)
        services.password_changed(form.user, how="set with a set-password link")
        messages.success(self.request, _("Your password is set. Log in with it now."))
        return response


@login_required
def settings_page(request):
    new_token = request.session.pop("new_token", None)
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            services.set_language(request.user, form.cleaned_data["language"])
            messages.success(request, _("Preferences saved."))
            return redirect("accounts:settings")
    else:
        form = PreferencesForm(initial={"language": request.user.language})
    tokens = request.user.api_tokens.filter(kind=ApiToken.Kind.PERSONAL)
    return render(
        request,
        "accounts/settings.html",
        {"form": form, "token_form": TokenForm(), "tokens": tokens, "new_token": new_token},
    )


@login_required
@require_POST
def create_token(request):
    form = TokenForm(request.POST)
    if form.is_valid():
        _token, raw = services.create_personal_token(request.user, form.cleaned_data["name"])
        # Shown once on the next page, never stored in clear.
        request.session["new_token"] = raw
    else:
        messages.error(request, _("Give the token a name."))
    return redirect("accounts:settings")


@login_required
@require_POST
def revoke_token(request, token_id):
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user, kind=ApiToken.Kind.PERSONAL)
    services.revoke_token(request.user, token)
    messages.success(request, _("Token revoked."))
    return redirect("accounts:settings")
