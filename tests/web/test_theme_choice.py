"""The server paints the theme the reader chose (orbit_theme cookie) from the first byte, so dark pages
never flash light; no choice, or a made-up one, leaves <html> without data-theme to follow the system."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_a_chosen_theme_is_written_on_the_html_element(client, theme):
    client.cookies["orbit_theme"] = theme
    page = client.get("/accounts/login/").content.decode()
    assert f'<html lang="en" data-theme="{theme}">' in page


def test_without_a_choice_the_page_follows_the_system(client):
    page = client.get("/accounts/login/").content.decode()
    assert '<html lang="en">' in page


@pytest.mark.parametrize("claimed", ['dark" onload="alert(1)', "DARK", "blue", ""])
def test_a_theme_the_cookie_makes_up_counts_as_no_choice(client, claimed):
    client.cookies["orbit_theme"] = claimed
    page = client.get("/accounts/login/").content.decode()
    assert '<html lang="en">' in page and "data-theme=" not in page.split("<head>")[0]
