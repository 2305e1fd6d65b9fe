"""API tokens in a real Chromium: creating one asks for the password again, shows the key once,
and the key works against the API until it is revoked on the same page."""

import pytest
from rest_framework.test import APIClient

from creators.models import ApiToken
from tests.factories import UserFactory

from .conftest import FACTORY_PASSWORD, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_token_is_created_after_the_password_again_shown_once_and_revoked(browse):
    member = UserFactory(username="scripter")
    problems = []

    def steps(page):
        page.on("pageerror", lambda error: problems.append(str(error)))
        sign_in(page, member.username, then="/settings/profile/")
        page.get_by_role("link", name="API tokens").click()
        page.fill("#id_name", "my script")
        page.get_by_role("button", name="Create token").click()
        page.wait_for_url("**/accounts/reauthenticate/**")
        page.fill("#id_password", FACTORY_PASSWORD)
        page.get_by_role("button", name="Confirm").click()
        page.wait_for_load_state()
        key = page.get_by_test_id("new-token").inner_text()
        page.goto("/settings/tokens/")  # shown again: the key is not
        listed = page.content()
        return key, listed

    key, listed = browse(steps)

    assert not problems
    assert key.startswith("orb_") and key not in listed and "my script" in listed
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/me/").json()["username"] == "scripter"

    def revoke(page):
        sign_in(page, member.username, then="/settings/tokens/")
        page.get_by_role("button", name="Revoke").click()
        page.wait_for_load_state()
        return page.content()

    after = browse(revoke)

    assert "The token is revoked" in after
    assert ApiToken.objects.get().revoked_at is not None
    assert api.get("/api/v1/me/").status_code == 401
