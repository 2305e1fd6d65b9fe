"""How the API knows who is calling: `Authorization: Token <key>` with an Orbit API token.

DRF's TokenAuthentication parses the header and answers with a `WWW-Authenticate: Token`
challenge; which keys work is decided by creators/tokens.py.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from . import tokens


class ApiTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        token = tokens.find_token(key=key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        now = timezone.now()
        refusal = tokens.refusal(token, now=now)
        if refusal:
            raise exceptions.AuthenticationFailed(refusal)
        tokens.record_use(token=token, now=now)
        return token.user, token
