"""The compose page's type suggestion: the active tagger's content type for the text being written."""

import time

import pytest
from django.core.cache import cache
from django.urls import reverse

from feed.models import PostType
from ranking.suggestions import MAX_TEXT_CHARS, suggest_content_type
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ANALYSIS_EN = (
    "$BTC daily chart: price broke above the descending trendline with rising volume. RSI is turning up "
    "from 45, support at 92k, resistance at 100k. If the 4h candle closes above 96k I expect a move to 104k."
)
ANALYSIS_ZH = (
    "比特币日线突破下降趋势线，成交量放大，RSI 从 45 拐头向上。"
    "支撑位 9.2 万，阻力位 10 万，4 小时收在 9.6 万上方就看 10.4 万。"
)


@pytest.fixture
def writer(client):
    person = UserFactory()
    client.force_login(person)
    return person


def test_an_obvious_english_analysis_is_suggested_as_analysis(client, writer, trained_tagger):
    response = client.get(reverse("ranking:suggest_type"), {"text": ANALYSIS_EN})
    assert response.status_code == 200
    suggestion = response.json()
    assert suggestion["content_type"] == "analysis" and suggestion["name"] == "Analysis"
    # The same type and confidence the tagger gives (tag_text prints them too).
    tags = trained_tagger.tag([ANALYSIS_EN])[0]
    assert suggestion["confidence"] == round(tags.confidence, 3) and 0 < suggestion["confidence"] <= 1


def test_an_obvious_chinese_analysis_is_suggested_with_its_chinese_name(client, writer, trained_tagger):
    client.cookies["django_language"] = "zh-hans"
    suggestion = client.get(reverse("ranking:suggest_type"), {"text": ANALYSIS_ZH}).json()
    assert suggestion["content_type"] == trained_tagger.tag([ANALYSIS_ZH])[0].content_type == "analysis"
    assert suggestion["name"] == PostType.objects.get(slug="analysis").name_zh


def test_no_text_no_tagger_or_a_switched_off_type_suggests_nothing(client, writer, trained_tagger):
    assert client.get(reverse("ranking:suggest_type"), {"text": "   "}).json() == {"content_type": None}
    PostType.objects.filter(slug="analysis").update(is_active=False)
    assert client.get(reverse("ranking:suggest_type"), {"text": ANALYSIS_EN}).json() == {"content_type": None}


def test_without_an_active_tagger_nothing_is_suggested(db):
    assert suggest_content_type(ANALYSIS_EN) is None


def test_only_the_first_ten_thousand_characters_are_read(trained_tagger):
    padded = ANALYSIS_EN + " " * (MAX_TEXT_CHARS - len(ANALYSIS_EN)) + "gm gm wagmi frens " * 2000
    assert suggest_content_type(padded).content_type == trained_tagger.tag([ANALYSIS_EN])[0].content_type


def test_suggestions_are_for_signed_in_people(client):
    response = client.get(reverse("ranking:suggest_type"), {"text": ANALYSIS_EN})
    assert response.status_code == 302 and reverse("account_login") in response["Location"]


def test_suggestions_count_in_the_compose_helpers_rate_limit(client, writer, settings, trained_tagger):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "compose_assist": "1/hour"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    window = int(time.time()) // 3600
    try:
        assert client.get(reverse("ranking:suggest_type"), {"text": "gm"}).status_code == 200
        assert client.get(reverse("ranking:suggest_type"), {"text": "gm"}).status_code == 429
    finally:
        cache.delete_many([f"ratelimit:compose_assist:{writer.pk}:{window + step}" for step in (0, 1)])
