"""No username that looks like another (Unicode UTS #39 confusable skeleton) or like a reserved
one; no invisible formatting characters (bidi overrides, zero-width) in usernames or display names."""

from importlib import import_module
from io import StringIO

import pytest
from django.apps import apps
from django.contrib import admin
from django.core.management import call_command
from django.db import IntegrityError
from django.test import Client
from django.urls import reverse

from creators.models import Profile, User
from creators.names import skeleton, username_skeleton
from tests.api.conftest import client_for
from tests.factories import UserFactory

from .helpers import PASSWORD, new_ip

pytestmark = pytest.mark.django_db

CYRILLIC_O = "\u043e"  # о
CYRILLIC_IE = "\u0435"  # е
RTL_OVERRIDE = "\u202e"
LOOKS_ALIKE = "looks like an existing one"


def _sign_up(username):
    client = Client(REMOTE_ADDR=new_ip())
    return client.post(
        reverse("account_signup"),
        {"username": username, "email": "new@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )


def test_skeletons_follow_uts39():
    assert skeleton(f"{CYRILLIC_O}perator") == skeleton("operator")
    assert skeleton("rn") == skeleton("m")
    assert username_skeleton("Ivan") == username_skeleton("lvan")  # capital I looks like small l
    assert username_skeleton("Mark") == username_skeleton("rnark")
    assert username_skeleton("dem0") == username_skeleton("demo")
    assert username_skeleton("alice") != username_skeleton("alicia")


@pytest.mark.parametrize("look_alike", [f"d{CYRILLIC_IE}mo", f"{CYRILLIC_O}perat{CYRILLIC_O}r", "dem0", "DEMO"])
def test_sign_up_refuses_a_look_alike_of_an_existing_name(look_alike):
    UserFactory(username="demo")
    UserFactory(username="operat0r-fan")  # unrelated

    response = _sign_up(look_alike)

    assert response.status_code == 200
    assert response.context["form"].errors["username"]
    assert not User.objects.filter(username=look_alike).exists()


def test_sign_up_refuses_a_look_alike_of_a_reserved_name_even_without_such_a_user():
    assert not User.objects.filter(username="operator").exists()

    response = _sign_up(f"{CYRILLIC_O}perator")

    assert LOOKS_ALIKE in " ".join(response.context["form"].errors["username"])
    assert not User.objects.exists()


def test_sign_up_still_accepts_a_distinct_name_in_any_script():
    UserFactory(username="demo")

    assert _sign_up("демо").status_code == 302  # Cyrillic "demo": reads differently, no look-alike
    assert User.objects.get(username="демо").username_skeleton == username_skeleton("демо")


def test_sign_up_refuses_a_bidi_override_in_the_name():
    response = _sign_up(f"evil{RTL_OVERRIDE}gpj.exe")

    assert response.status_code == 200
    assert not User.objects.filter(username__startswith="evil").exists()


@pytest.mark.parametrize("invisible", [RTL_OVERRIDE, "\u200b", "\u200f", "\u2066"])
def test_display_names_refuse_invisible_formatting_characters(invisible):
    user = UserFactory(username="carol")

    response = client_for(user).patch("/api/v1/me/", {"display_name": f"Carol{invisible}lorac"}, format="json")

    assert response.status_code == 400
    assert "invisible" in response.json()["errors"]["display_name"][0]
    assert Profile.objects.get(user=user).display_name == "Carol"


def test_display_names_refuse_a_bidi_override_on_the_settings_page():
    user = UserFactory(username="carol")
    client = Client(REMOTE_ADDR=new_ip())
    client.force_login(user)

    response = client.post(
        reverse("creators:edit_profile"), {"display_name": f"Carol{RTL_OVERRIDE}", "bio": "", "language": "en"}
    )

    assert response.status_code == 400
    assert Profile.objects.get(user=user).display_name == "Carol"


def test_the_database_refuses_a_look_alike_whatever_path_creates_it():
    UserFactory(username="demo")

    with pytest.raises(IntegrityError):
        User.objects.create(username=f"d{CYRILLIC_IE}mo")


def test_admin_refuses_to_create_or_rename_to_a_look_alike(rf):
    UserFactory(username="demo")
    other = UserFactory(username="someone")
    request = rf.get("/admin/")
    request.user = UserFactory(is_staff=True, is_superuser=True)
    user_admin = admin.site._registry[User]

    add_form = user_admin.get_form(request, obj=None)
    created = add_form(
        {"username": f"d{CYRILLIC_IE}mo", "password1": PASSWORD, "password2": PASSWORD, "usable_password": "true"}
    )
    assert not created.is_valid()
    assert LOOKS_ALIKE in " ".join(created.errors["username"])

    change_form = user_admin.get_form(request, obj=other, change=True)
    renamed = change_form({"username": f"d{CYRILLIC_IE}mo", "date_joined": "2026-01-01 00:00"}, instance=other)
    assert not renamed.is_valid()
    assert LOOKS_ALIKE in " ".join(renamed.errors["username"])


def test_the_backfill_keeps_the_oldest_of_legacy_look_alikes_and_the_younger_can_still_save():
    # Accounts from before the rule: bulk_create skips save(), as old data never had a skeleton.
    oldest = UserFactory(username="demo")
    User.objects.bulk_create([User(username=f"d{CYRILLIC_IE}mo", password="!")])
    User.objects.update(username_skeleton=None)
    backfill = import_module("creators.migrations.0012_username_skeleton").backfill_skeletons

    backfill(apps, None)

    younger = User.objects.get(username=f"d{CYRILLIC_IE}mo")
    assert User.objects.get(pk=oldest.pk).username_skeleton == username_skeleton("demo")
    assert younger.username_skeleton is None
    younger.set_password("a new long passphrase")
    younger.save()  # no IntegrityError: an unchanged name keeps its (missing) skeleton
    assert _sign_up("dem0").status_code == 200  # and the group stays closed to newcomers


def test_the_seeded_demo_accounts_have_skeletons_so_a_look_alike_of_demo_is_refused():
    call_command("seed_demo", "--users=40", "--posts=40", "--events=200", "--seed=3", stdout=StringIO())

    assert not User.objects.filter(username_skeleton__isnull=True).exists()
    response = _sign_up(f"d{CYRILLIC_IE}mo")
    assert LOOKS_ALIKE in " ".join(response.context["form"].errors["username"])
