"""With DEBUG off (as under `make run` and in production) errors show Orbit's own pages, in the
reader's language, never Django's debug pages with the URL list or a traceback."""

import pytest
from django.test import Client, override_settings

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.web.erroring_urls")]

CHINESE = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


@pytest.fixture
def browser():
    # A crashing view must answer like a server does, not raise into the test.
    return Client(raise_request_exception=False)


@override_settings(DEBUG=False)
def test_a_missing_page_shows_orbits_404_page_in_english_without_the_url_list(browser):
    response = browser.get("/no-such-page/")
    page = response.content.decode()
    assert response.status_code == 404
    assert "That page does not exist." in page
    assert "Back to the latest posts" in page
    assert 'class="topbar"' in page  # the site's own look
    assert "healthz" not in page and "URLconf" not in page


@override_settings(DEBUG=False)
def test_a_missing_page_shows_orbits_404_page_in_chinese_by_accept_language_or_cookie(browser, settings):
    by_header = browser.get("/no-such-page/", **CHINESE).content.decode()
    browser.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    by_cookie = browser.get("/no-such-page/").content.decode()
    for page in (by_header, by_cookie):
        assert "该页面不存在。" in page
        assert "返回最新帖子" in page


@override_settings(DEBUG=False)
def test_a_refusal_shows_orbits_403_page_in_english_and_chinese(browser):
    english = browser.get("/test-forbidden/")
    chinese = browser.get("/test-forbidden/", **CHINESE)
    assert english.status_code == chinese.status_code == 403
    assert "You are not allowed to do that." in english.content.decode()
    assert "你无权执行此操作。" in chinese.content.decode()
    assert 'class="topbar"' in english.content.decode()


@override_settings(DEBUG=False)
def test_a_crash_shows_orbits_static_500_page_in_both_languages_without_a_traceback(browser):
    for headers in ({}, CHINESE):
        response = browser.get("/test-crash/", **headers)
        page = response.content.decode()
        assert response.status_code == 500
        assert "Something went wrong on our side; it has been logged." in page
        assert "我们这边出错了，已记录。请稍后再试。" in page
        assert "a bug" not in page and "Traceback" not in page
