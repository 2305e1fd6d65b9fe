"""Browser tests drive Debian's Chromium (/usr/bin/chromium) through Playwright.

Without the browser they are skipped with the reason shown; with ORBIT_REQUIRE_BROWSER=1
(set by .ci/run) a missing browser is a failure instead.
"""

import os
import shutil

import pytest

CHROMIUM = os.environ.get("ORBIT_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def chromium():
    if not shutil.which(CHROMIUM):
        message = f"Debian's Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("ORBIT_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the
    # live server makes happen in other threads, so the async guard does not apply.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server, django_db_serialized_rollback):
    context = chromium.new_context(base_url=live_server.url, locale="en-US")
    page = context.new_page()
    yield page
    context.close()
