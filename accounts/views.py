import time

from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from core.errors import DomainError, ValidationFailed
from core.ratelimit import rate_limit

from . import services, two_factor
from .forms import EmailLoginForm, PreferencesForm, QueuedPasswordResetForm, TokenForm
from .models import ApiToken, User
from .tokens import set_password_token_generator

PENDING_LOGIN = "two_factor_pending"  # session key: who passed the password step, waiting for the code
PENDING_SECONDS = 300
MAX_CODE_TRIES = 5


@method_decorator(rate_limit("login", methods=("POST",)), name="dispatch")
class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = EmailLoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        if not two_factor.has_two_factor(user):
            return super().form_valid(form)
        # The password was right; the session is not logged in until the second factor is.
        self.request.session[PENDING_LOGIN] = {
            "user_id": str(user.pk),
            "backend": user.backend,
            "next": self.get_success_url(),
            "at": time.time(),
            "tries": 0,
        }
        return redirect("accounts:login_verify")


@rate_limit("login", methods=("POST",))  # per IP too: codes are short
def login_verify(request):
    """Second step of the login: a code from the authenticator app, or a recovery code."""
    pending = request.session.get(PENDING_LOGIN)
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        request.session.pop(PENDING_LOGIN, None)
        messages.info(request, _("Log in again."))
        return redirect("accounts:login")
    user = User.objects.filter(pk=pending["user_id"], is_active=True).first()
    if user is None:
        request.session.pop(PENDING_LOGIN, None)
        return redirect("accounts:login")
    error = ""
    if request.method == "POST":
        device = services.verify_second_factor(user, request.POST.get("code", ""))
        if device is not None:
            request.session.pop(PENDING_LOGIN, None)
            auth_login(request, user, backend=pending["backend"])
            otp_login(request, device)
            return redirect(pending["next"])
        pending["tries"] += 1
        if pending["tries"] >= MAX_CODE_TRIES:
            request.session.pop(PENDING_LOGIN, None)
            messages.error(request, _("Too many wrong codes. Log in again."))
            return redirect("accounts:login")
        request.session[PENDING_LOGIN] = pending
        error = _("That code is not right. Try the newest code from your app, or a recovery code.")
    return render(request, "accounts/login_verify.html", {"error": error}, status=200 if not error else 422)


@login_required
def two_factor_page(request):
    """Set up, verify (a session that owes the code), replace recovery codes, or turn off two-factor."""
    user = request.user
    verified = user.is_verified()
    enabled = two_factor.has_two_factor(user)
    context = {
        "enabled": enabled,
        "verified": verified,
        "required": two_factor.required(user),
        "codes": request.session.pop("new_recovery_codes", None),
        "codes_left": two_factor.recovery_codes_left(user) if enabled else 0,
        "error": "",
    }
    action = request.POST.get("action") if request.method == "POST" else None
    try:
        if action == "start":
            services.start_two_factor(user)
        elif action == "confirm":
            codes = services.confirm_two_factor(user, request.POST.get("code"))
            user.refresh_from_db()
            update_session_auth_hash(request, user)  # other sessions end, this one stays
            otp_login(request, user.totpdevice_set.filter(confirmed=True).first())
            request.session["new_recovery_codes"] = codes
            messages.success(request, _("Two-factor authentication is on."))
            return redirect("accounts:two_factor")
        elif action == "verify":
            device = services.verify_second_factor(user, request.POST.get("code"))
            if device is None:
                raise ValidationFailed(_("That code is not right."), {})
            otp_login(request, device)
            return redirect("dashboard")
        elif action == "new_codes":
            request.session["new_recovery_codes"] = services.new_recovery_codes(
                user, request.POST.get("code")
            )
            return redirect("accounts:two_factor")
        elif action == "disable":
            services.disable_two_factor(user, request.POST.get("code"))
            messages.success(request, _("Two-factor authentication is off."))
            return redirect("accounts:two_factor")
    except DomainError as exc:
        context["error"] = exc.messages()[0]
    if not context["enabled"]:
        device = two_factor.pending_device(user)
        if device is not None:
            context["qr"] = two_factor.qr_data_uri(device)
            context["secret"] = two_factor.secret_for_display(device)
    return render(request, "accounts/two_factor.html", context, status=422 if context["error"] else 200)


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:settings")

    def form_valid(self, form):
        response = super().form_valid(form)
        services.password_changed(form.user, how="changed")
        messages.success(self.request, _("Your password was changed."))
        return response


@method_decorator(rate_limit("password_reset", methods=("POST",)), name="dispatch")
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
