"""Set-password links for invitations and resets by an admin: expiring, single-use."""

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.utils.crypto import constant_time_compare
from django.utils.http import base36_to_int


class SetPasswordTokenGenerator(PasswordResetTokenGenerator):
    """Like Django's reset token (it dies when the password or last login changes), but with its own
    salt, its own lifetime (CUSTODY_SET_PASSWORD_LINK_HOURS) and the user's security stamp, so a
    deactivation or a newer reset voids an older link."""

    key_salt = "accounts.tokens.SetPasswordTokenGenerator"

    def _make_hash_value(self, user, timestamp):
        return f"{super()._make_hash_value(user, timestamp)}{user.security_stamp}{user.is_active}"

    def check_token(self, user, token):
        if not (user and token and user.is_active):
            return False
        try:
            ts = base36_to_int(token.split("-")[0])
        except ValueError:
            return False
        if self._num_seconds(self._now()) - ts > settings.CUSTODY_SET_PASSWORD_LINK_HOURS * 3600:
            return False
        return any(
            constant_time_compare(self._make_token_with_timestamp(user, ts, secret), token)
            for secret in [self.secret, *self.secret_fallbacks]
        )


set_password_token_generator = SetPasswordTokenGenerator()
