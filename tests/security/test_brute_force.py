"""Repeated wrong passwords for one name from one address lock that pair out (django-axes)."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory

from .helpers import PASSWORD, new_ip, sign_in, signed_in_user_id

pytestmark = pytest.mark.django_db


def _fail(client, username, times):
    responses = [sign_in(client, username, "not-the-password-at-all") for _ in range(times)]
    return responses[-1]


def test_after_the_failure_limit_even_the_right_password_is_refused_with_a_time_to_retry():
    user = UserFactory()
    client = Client(REMOTE_ADDR=new_ip())

    before_limit = _fail(client, user.username, settings.AXES_FAILURE_LIMIT - 1)
    assert before_limit.status_code == 200  # the form again, with its error

    locked = _fail(client, user.username, 1)
    assert locked.status_code == 429
    assert locked["Retry-After"] == str(int(settings.AXES_COOLOFF_TIME * 3600))
    page = locked.content.decode()
    assert "Try again in 15 minutes" in page
    assert "UTC" in page

    right_password = sign_in(client, user.username, PASSWORD)
    assert right_password.status_code == 429
    assert signed_in_user_id(client) is None


def test_the_lockout_holds_one_name_from_one_address_only():
    user, other = UserFactory(), UserFactory()
    attacker = Client(REMOTE_ADDR=new_ip())
    _fail(attacker, user.username, settings.AXES_FAILURE_LIMIT)

    # The same person from another network signs in...
    elsewhere = Client(REMOTE_ADDR=new_ip())
    assert sign_in(elsewhere, user.username).status_code == 302
    assert signed_in_user_id(elsewhere) == str(user.pk)
    # ...and another account from the attacker's address too.
    assert sign_in(attacker, other.username).status_code == 302


def test_a_successful_sign_in_clears_earlier_failures():
    user = UserFactory()
    client = Client(REMOTE_ADDR=new_ip())
    _fail(client, user.username, settings.AXES_FAILURE_LIMIT - 1)
    assert sign_in(client, user.username).status_code == 302
    client.post(reverse("account_logout"))

    # Without the reset this failure would be the last one allowed and lock the account out.
    assert _fail(client, user.username, 1).status_code == 200
    assert sign_in(client, user.username).status_code == 302
