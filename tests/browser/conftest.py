"""Browser tests drive Debian's Chromium (/usr/bin/chromium) through Playwright.

Without the browser they are skipped with the reason shown; with ORBIT_REQUIRE_BROWSER=1
(set by .ci/run) a missing browser is a failure instead.
"""

import os
import shutil
import threading

import pytest

CHROMIUM = os.environ.get("ORBIT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


@pytest.fixture(scope="session")
def chromium_path():
    if not shutil.which(CHROMIUM):
        message = f"Debian's Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("ORBIT_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture
def browse(chromium_path, live_server, django_db_serialized_rollback):
    """Run `steps(page)` in Chromium against the live server; returns what steps returns.

    Playwright's sync API keeps an asyncio loop in the thread that drives it. It gets a
    thread of its own so that the test thread, where Django sets up and tears down the
    database, never runs inside an event loop.
    """
    from playwright.sync_api import sync_playwright

    def run(steps):
        outcome = {}

        def drive():
            try:
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
                    try:
                        context = browser.new_context(base_url=live_server.url, locale="en-US")
                        outcome["value"] = steps(context.new_page())
                    finally:
                        browser.close()
            except BaseException as exc:  # handed to the test thread below
                outcome["error"] = exc

        driver = threading.Thread(target=drive, name="playwright")
        driver.start()
        driver.join(timeout=120)
        if driver.is_alive():
            pytest.fail("the browser steps did not finish within 120 s")
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("value")

    return run


FACTORY_PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's


def sign_in(page, username: str, then: str) -> None:
    """Log in (with UserFactory's password) through the login form and land on `then`."""
    page.goto(f"/accounts/login/?next={then}")
    page.fill("#id_login", username)
    page.fill("#id_password", FACTORY_PASSWORD)
    page.locator("form:has(#id_login) [type=submit]").click()
    page.wait_for_url(f"**{then}")
