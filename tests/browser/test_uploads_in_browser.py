"""A GIF/JavaScript polyglot and a GIF carrying HTML, uploaded through the compose page in Chromium:
the post shows an image, and neither file can run a script, opened as a page or loaded as one."""

import pytest

from tests.factories import UserFactory
from tests.hostile_images import PWNED, gif_js_polyglot, gif_with_html

from .conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SHOWN = "img => img.complete && img.naturalWidth > 0"
LOAD_AS_SCRIPT = """url => new Promise(resolve => {
    const script = document.createElement('script');
    script.src = url;
    script.onload = () => resolve('ran');
    script.onerror = () => resolve('refused');
    document.head.append(script);
})"""


@pytest.fixture
def media_through_orbit(monkeypatch):
    """Django's live server answers /media/ itself (django.views.static.serve, past every middleware);
    production has no such shortcut. Turned off here, Orbit's own /media/ view answers, as in production."""
    from django.test.testcases import _MediaFilesHandler

    monkeypatch.setattr(_MediaFilesHandler, "_should_handle", lambda handler, path: False)


def _publish(page, name: str, mime_type: str, data: bytes) -> tuple[str, str, str]:
    """Post one file through the compose page; returns the shown image's URL, width and height."""
    from playwright.sync_api import expect

    page.goto("/compose/")
    page.fill("#id_body", f"Look at {name}")
    page.select_option("#id_content_type", "chat")
    page.set_input_files("#id_images", files=[{"name": name, "mimeType": mime_type, "buffer": data}])
    page.get_by_role("button", name="Publish").click()
    expect(page.locator(".flash-message")).to_contain_text("Your post is live.")
    image = page.locator(".post-page .images img")
    expect(image).to_have_count(1)
    page.wait_for_function(SHOWN, arg=image.element_handle(), timeout=10_000)
    return image.get_attribute("src"), image.get_attribute("width"), image.get_attribute("height")


def test_a_polyglot_uploaded_in_the_browser_shows_as_an_image_and_never_runs_as_a_script(browse, media_through_orbit):
    UserFactory(username="alice")

    def steps(page):
        sign_in(page, "alice", then="/compose/")
        script_url, *polyglot_size = _publish(page, "evil.js", "text/javascript", gif_js_polyglot())
        # The attack: a page that loads the first upload as a script from Orbit's own origin.
        page_url, *page_size = _publish(page, "evil.html", "text/html", gif_with_html(script_src=script_url))

        opened = page.goto(page_url)
        page.wait_for_load_state("load")
        as_page = {
            "content_type": opened.headers["content-type"],
            "policy": opened.headers.get("content-security-policy", ""),
            "nosniff": opened.headers.get("x-content-type-options", ""),
            "title": page.title(),
            "pwned": page.evaluate("() => window.pwned === true"),
        }
        page.goto("/")
        as_script = page.evaluate(LOAD_AS_SCRIPT, script_url)
        after = (page.title(), page.evaluate("() => window.pwned === true"))
        return script_url, polyglot_size, page_url, page_size, as_page, as_script, after

    script_url, polyglot_size, page_url, page_size, as_page, as_script, after = browse(steps)
    # Shown on the post page at their stored sizes: the polyglot's 2365 x 2353 canvas downscaled.
    assert script_url.endswith(".gif") and polyglot_size == ["2048", "2038"]
    assert page_url.endswith(".gif") and page_size == ["64", "48"]
    assert as_page["content_type"] == "image/gif" and as_page["nosniff"] == "nosniff"
    assert "sandbox" in as_page["policy"]
    assert as_page["title"] != PWNED and as_page["pwned"] is False
    # image/gif with nosniff is not executable: Chromium refuses it as a script.
    assert as_script == "refused"
    assert after[0] != PWNED and after[1] is False
