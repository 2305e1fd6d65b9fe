"""Ranking in admin, as an operator with TOTP uses it: weights with their history, tags, taggers, interests."""

from __future__ import annotations

from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from feed.models import Post, PostType
from ranking import weights
from ranking.models import (
    ContentMixDay,
    ContentTypeWeight,
    ContentTypeWeightChange,
    PostTags,
    TaggerModel,
    UserInterest,
)
from tests.downloads import csv_rows
from tests.factories import PostFactory, PostTagsFactory, UserFactory
from tests.security.helpers import activate_totp, client_from_new_ip, sign_in, sign_in_with_code, staff_client

pytestmark = pytest.mark.django_db

WEIGHTS = reverse("admin:ranking_contenttypeweight_changelist")


@pytest.fixture
def operator():
    return UserFactory(username="ops", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(operator):
    return staff_client(operator)


def _change_url(slug: str) -> str:
    return reverse("admin:ranking_contenttypeweight_change", args=[slug])


def _edit(client, slug: str, **changes):
    """Post the change form as the browser would: the values on the page, with `changes` typed over them."""
    page = client.get(_change_url(slug))
    form = page.context["adminform"].form
    data = {name: form.initial[name] for name in ("base_weight", "target_share", "min_multiplier", "max_multiplier")}
    data["is_active"] = "on" if form.initial["is_active"] else ""
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({f"{management.prefix}-{key}": value for key, value in management.initial.items()})
    data.update(changes)
    return client.post(_change_url(slug), {key: value for key, value in data.items() if value != ""})


def test_the_change_list_shows_every_type_with_its_effective_weight(admin_client):
    weights.update_content_type_weight(
        weight=ContentTypeWeight.objects.get(pk="new_asset"), changes={"multiplier": "2.00"}, by=None
    )

    page = admin_client.get(WEIGHTS).content.decode()

    assert '<th class="field-content_type">' in page
    assert ">Education</a>" in page and ">New assets &amp; strategies</a>" in page
    assert "15.0%" in page  # education's target share
    assert '<td class="field-effective_weight">2.80</td>' in page  # 1.40 × 2.00
    assert '<td class="field-effective_weight">1.50</td>' in page  # education, multiplier 1


def test_the_change_list_costs_the_same_queries_for_six_types_or_nine(admin_client):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(WEIGHTS).status_code == 200
        return len(captured)

    queries()  # the first visit may create rows for types without one
    six = queries()
    for number in range(3):
        PostType.objects.create(slug=f"extra{number}", name_en=f"Extra {number}", name_zh="额外", position=20)
    queries()
    # session, user, TOTP check, types without a weight row, two counts (filtered and total),
    # the weights joined with their types, the supply grouped by type, the exposure grouped by
    # type, the header's unread notifications
    assert queries() == six == 10


def test_a_type_added_by_operators_is_listed_with_a_neutral_weight(admin_client):
    PostType.objects.create(slug="memes", name_en="Memes", name_zh="梗", position=9)

    page = admin_client.get(WEIGHTS).content.decode()

    assert ">Memes</a>" in page
    assert ContentTypeWeight.objects.get(pk="memes").effective == 1.0


def test_an_operator_edit_is_saved_with_who_and_why_in_the_history(admin_client, operator):
    response = _edit(admin_client, "education", base_weight="2.00", target_share="20", reason="exam season")

    assert response.status_code == 302
    education = ContentTypeWeight.objects.get(pk="education")
    assert (education.base_weight, education.target_share) == (Decimal("2.00"), Decimal("0.200"))
    assert list(
        ContentTypeWeightChange.objects.order_by("id").values_list(
            "field", "old_value", "new_value", "changed_by", "reason"
        )
    ) == [
        ("base_weight", "1.50", "2.00", operator.pk, "exam season"),
        ("target_share", "0.150", "0.200", operator.pk, "exam season"),
    ]
    assert weights.effective_weights()["education"] == 2.0

    history = admin_client.get(_change_url("education")).content.decode()
    assert "1.50 → 2.00" in history and "exam season" in history and "ops" in history


def test_saving_the_form_unchanged_writes_no_history(admin_client):
    assert _edit(admin_client, "news").status_code == 302
    assert not ContentTypeWeightChange.objects.exists()


def test_narrowing_the_bounds_in_admin_pulls_the_multiplier_in_and_records_it(admin_client, operator):
    weights.update_content_type_weight(
        weight=ContentTypeWeight.objects.get(pk="education"), changes={"multiplier": "2.20"}, by=None
    )

    _edit(admin_client, "education", max_multiplier="2.00")

    assert ContentTypeWeight.objects.get(pk="education").multiplier == Decimal("2.00")
    assert ContentTypeWeightChange.objects.filter(changed_by=operator, field="multiplier").get().new_value == "2.00"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"min_multiplier": "3.00"}, "The minimum multiplier (3.00) cannot be above the maximum (2.50)."),
        ({"base_weight": "-1"}, "Base weight cannot be negative"),
        ({"min_multiplier": "0"}, "The minimum multiplier must be above 0."),
    ],
)
def test_a_bad_value_comes_back_in_the_form_with_its_message(admin_client, changes, message):
    response = _edit(admin_client, "education", **changes)

    assert response.status_code == 200
    page = response.content.decode()
    assert message in page
    assert "Constraint" not in page  # the operator reads our message, not the database's
    assert not ContentTypeWeightChange.objects.exists()
    assert ContentTypeWeight.objects.get(pk="education").base_weight == Decimal("1.50")


def test_the_target_share_is_typed_as_a_percentage_and_stored_as_a_fraction(admin_client, operator):
    form = admin_client.get(_change_url("education")).context["adminform"].form
    assert form.initial["target_share"] == Decimal("15.0")  # the stored 0.150, as operators read it

    assert _edit(admin_client, "education", target_share="12.5", reason="more explainers").status_code == 302

    assert ContentTypeWeight.objects.get(pk="education").target_share == Decimal("0.125")
    change = ContentTypeWeightChange.objects.get()
    assert (change.field, change.old_value, change.new_value, change.changed_by) == (
        "target_share",
        "0.150",
        "0.125",
        operator,
    )  # the audit keeps the stored fraction
    assert "12.5%" in admin_client.get(WEIGHTS).content.decode()


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("120", "Enter the target share as a percentage of the feed from 0 to 100, such as 15 or 12.5."),
        ("-1", "Enter the target share as a percentage of the feed from 0 to 100, such as 15 or 12.5."),
        ("abc", "Enter the target share as a percentage of the feed from 0 to 100, such as 15 or 12.5."),
        ("12.55", "Use at most one decimal place, such as 12.5: the target share is kept in tenths of a percent."),
    ],
)
def test_a_bad_percentage_is_refused_with_a_percent_message_and_nothing_is_stored(admin_client, typed, message):
    response = _edit(admin_client, "education", target_share=typed)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert ContentTypeWeight.objects.get(pk="education").target_share == Decimal("0.150")
    assert not ContentTypeWeightChange.objects.exists()


def test_the_list_shows_supply_and_exposure_next_to_the_target_as_a_direct_query_counts_them(admin_client):
    now = timezone.now()
    today = now.astimezone(UTC).date()
    for _ in range(3):
        PostTagsFactory(post=PostFactory(content_type="education"))
    PostTagsFactory(post=PostFactory(content_type="chat"), confidence=0.5)
    PostTagsFactory(post=PostFactory(content_type="news"), content_type="education")  # the tagger's type counts
    PostTagsFactory(post=PostFactory(content_type="news", created_at=now - timedelta(days=8)))  # out of the window
    PostTagsFactory(post=PostFactory(content_type="news", status=Post.Status.HIDDEN))  # not published
    ContentMixDay.objects.create(day=today, post_type_id="education", impressions=300)
    ContentMixDay.objects.create(day=today - timedelta(days=6), post_type_id="chat", impressions=100)
    ContentMixDay.objects.create(day=today - timedelta(days=7), post_type_id="news", impressions=5_000)  # too old

    page = admin_client.get(WEIGHTS).content.decode()

    recent = PostTags.objects.filter(
        post__status=Post.Status.PUBLISHED, post__created_at__gte=now - timedelta(days=7)
    ).values_list("content_type", "confidence")
    supply_total = sum(confidence for _type, confidence in recent)
    education_supply = sum(confidence for content_type, confidence in recent if content_type == "education")
    impressions = ContentMixDay.objects.filter(day__gt=today - timedelta(days=7)).values_list(
        "post_type", "impressions"
    )
    exposure_total = sum(count for _type, count in impressions)
    education_exposure = sum(count for content_type, count in impressions if content_type == "education")
    assert f'<td class="field-supply_percent">{education_supply / supply_total:.1%}</td>' in page  # 88.9%
    assert f'<td class="field-exposure_percent">{education_exposure / exposure_total:.1%}</td>' in page  # 75.0%
    assert '<td class="field-supply_percent">11.1%</td>' in page  # chat: half a post of 4.5
    assert '<td class="field-exposure_percent">25.0%</td>' in page
    assert '<td class="field-supply_percent">0.0%</td>' in page  # news: its posts are old, hidden or education
    assert '<td class="field-target_share_percent">15.0%</td>' in page

    # The list's CSV carries the same figures (the shares are computed for the export too).
    export = admin_client.get(reverse("admin_export_csv", args=["ranking", "contenttypeweight"]))
    rows = csv_rows(export)
    education = next(row for row in rows[1:] if row[0] == "Education")
    assert education[3:5] == [f"{education_supply / supply_total:.1%}", f"{education_exposure / exposure_total:.1%}"]


def test_exposure_reads_a_dash_until_impressions_are_recorded(admin_client):
    ContentMixDay.objects.create(day=timezone.now().date(), post_type_id="chat", impressions=0)

    page = admin_client.get(WEIGHTS).content.decode()

    assert '<td class="field-exposure_percent">—</td>' in page
    assert '<td class="field-exposure_percent">0.0%</td>' not in page


def test_the_multiplier_cannot_be_typed_in_admin(admin_client):
    page = admin_client.get(_change_url("education")).content.decode()
    assert 'name="multiplier"' not in page

    _edit(admin_client, "education", multiplier="2.40")

    assert ContentTypeWeight.objects.get(pk="education").multiplier == Decimal("1.00")


def test_weights_are_not_added_or_deleted_and_their_history_is_read_only(admin_client):
    weights.update_content_type_weight(
        weight=ContentTypeWeight.objects.get(pk="news"), changes={"base_weight": "1.10"}, by=None
    )
    change = ContentTypeWeightChange.objects.get()

    assert admin_client.get(reverse("admin:ranking_contenttypeweight_add")).status_code == 403
    delete = reverse("admin:ranking_contenttypeweight_delete", args=["news"])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert ContentTypeWeight.objects.filter(pk="news").exists()

    history = reverse("admin:ranking_contenttypeweightchange_changelist")
    assert "1.00 → 1.10" in admin_client.get(f"{history}?by=rebalance").content.decode()
    assert admin_client.get(reverse("admin:ranking_contenttypeweightchange_add")).status_code == 403
    delete_change = reverse("admin:ranking_contenttypeweightchange_delete", args=[change.pk])
    assert admin_client.post(delete_change, {"post": "yes"}).status_code == 403
    admin_client.post(reverse("admin:ranking_contenttypeweightchange_change", args=[change.pk]), {"new_value": "9.99"})
    assert ContentTypeWeightChange.objects.get().new_value == "1.10"


def test_people_who_are_not_operators_never_reach_the_weights():
    member = UserFactory()
    member_client = client_from_new_ip()
    sign_in_with_code(member_client, member.username, activate_totp(member))
    staff_without_code = UserFactory(is_staff=True, is_superuser=True)
    activate_totp(staff_without_code)
    password_only = client_from_new_ip()
    sign_in(password_only, staff_without_code.username)

    for client in (client_from_new_ip(), member_client, password_only):
        assert client.get(WEIGHTS).status_code == 302
        assert client.post(_change_url("education"), {"base_weight": "9.00"}).status_code == 302
    assert ContentTypeWeight.objects.get(pk="education").base_weight == Decimal("1.50")


# --- Tags, taggers and interests ---------------------------------------------------------------


def _tags(post, **fields):
    values = {
        "content_type": "education",
        "level": "beginner",
        "topics": ["defi"],
        "assets": ["ETH"],
        "language": "en",
        "quality": 0.8,
        "model_version": "test",
    }
    return PostTags.objects.create(post=post, **{**values, **fields})


def test_post_tags_are_found_by_post_id_and_filtered_but_never_edited(admin_client):
    education = _tags(PostFactory(content_type_id="education"))
    chat = _tags(PostFactory(content_type_id="chat"), content_type="chat", level="advanced", language="zh")
    tags_list = reverse("admin:ranking_posttags_changelist")

    by_id = admin_client.get(f"{tags_list}?q={chat.post_id}").content.decode()
    assert f"/admin/feed/post/{chat.post_id}/change/" in by_id
    assert f"/admin/feed/post/{education.post_id}/change/" not in by_id
    assert admin_client.get(f"{tags_list}?q=not-a-number").status_code == 200
    for query in ("content_type=chat", "level=advanced", "language=zh"):
        page = admin_client.get(f"{tags_list}?{query}").content.decode()
        assert f"/admin/feed/post/{chat.post_id}/change/" in page, query
        assert f"/admin/feed/post/{education.post_id}/change/" not in page, query

    admin_client.post(reverse("admin:ranking_posttags_change", args=[chat.post_id]), {"content_type": "education"})
    assert PostTags.objects.get(pk=chat.post_id).content_type == "chat"
    assert admin_client.get(reverse("admin:ranking_posttags_add")).status_code == 403


def test_activating_a_tagger_switches_the_active_one_and_is_logged(admin_client, caplog):
    old = TaggerModel.objects.create(
        version="2026.11.1", corpus_sha256="a" * 64, metrics={"content_type": {"macro_f1": 0.81}}, is_active=True
    )
    new = TaggerModel.objects.create(
        version="2026.11.2",
        corpus_sha256="b" * 64,
        metrics={"content_type": {"macro_f1": 0.8766}, "level": {"accuracy": 0.7}},
        artifact=b"SECRET-MODEL-BYTES",
    )
    taggers = reverse("admin:ranking_taggermodel_changelist")

    with caplog.at_level("INFO", logger="orbit.security"):
        response = admin_client.post(taggers, {"action": "activate", "_selected_action": [new.pk]}, follow=True)

    assert "2026.11.2 is now the active tagger" in response.content.decode()
    assert list(TaggerModel.objects.filter(is_active=True).values_list("version", flat=True)) == ["2026.11.2"]
    lines = [record.getMessage() for record in caplog.records if record.name == "orbit.security"]
    assert any(
        line.startswith("tagger_activated user='ops'") and "version='2026.11.2' previous='2026.11.1'" in line
        for line in lines
    ), lines

    detail = admin_client.get(reverse("admin:ranking_taggermodel_change", args=[new.pk])).content.decode()
    assert "<th>content_type macro_f1</th><td>0.877</td>" in detail
    assert "SECRET-MODEL-BYTES" not in detail and "artifact" not in detail
    assert old.version in admin_client.get(taggers).content.decode()


def test_activating_asks_for_exactly_one_tagger(admin_client):
    first = TaggerModel.objects.create(version="v1", corpus_sha256="a" * 64, is_active=True)
    second = TaggerModel.objects.create(version="v2", corpus_sha256="b" * 64)

    response = admin_client.post(
        reverse("admin:ranking_taggermodel_changelist"),
        {"action": "activate", "_selected_action": [first.pk, second.pk]},
        follow=True,
    )

    assert "Select exactly one model to activate." in response.content.decode()
    assert TaggerModel.objects.get(is_active=True) == first


def test_interest_profiles_show_their_strongest_weights(admin_client):
    reader = UserFactory(username="curious")
    UserInterest.objects.create(
        user=reader,
        trading={"asset:BTC": 1.0},
        engagement={"topic:defi": 3.25, "type:education": 0.5, "asset:SOL": 1.75},
    )

    page = admin_client.get(reverse("admin:ranking_userinterest_changelist")).content.decode()

    assert "topic:defi 3.25, asset:SOL 1.75, type:education 0.50" in page
    assert "asset:BTC 1.00" in page
    assert admin_client.get(reverse("admin:ranking_userinterest_add")).status_code == 403
