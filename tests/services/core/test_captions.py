"""The caption parser on real captions from ``../shared/datasets/instagram-posts`` and on edge cases."""

from __future__ import annotations

import csv
from functools import cache

import pytest

from services.core.captions import HASHTAG_MAX_CHARS, parse_caption
from tests.support.paths import POSTS_DIR


@cache
def rows(name: str) -> list[dict[str, str]]:
    with (POSTS_DIR / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def reach(index: int, column: str = "Caption") -> str:
    return rows("instagram_reach.csv")[index][column]


def dated(index: int, column: str = "Caption") -> str:
    return rows("instagram_posts_with_dates.csv")[index][column]


def test_glued_and_nbsp_separated_tags_of_a_real_hashtag_column() -> None:
    # given: '#edtech\xa0#learning#educationtechnology\xa0#tech #learnnewskills ... #tech#techstartup'
    text = reach(5, "Hashtags")
    assert text.startswith("#edtech\xa0#learning#educationtechnology\xa0#tech ")

    # when / then: glued tags split, NBSP separates, duplicates (#entrepreneur, #tech) kept once, in order
    assert parse_caption(text).hashtags == (
        "edtech", "learning", "educationtechnology", "tech", "learnnewskills", "onlinelearning", "teach",
        "study", "lifelonglearning", "bigdata", "chatbot", "digitalliteracy", "entrepreneurship",
        "entrepreneur", "startup", "startupaus", "studying", "machinelearning", "coach", "techstartup",
        "blockchain", "videocourse", "analytics",
    )  # fmt: skip


def test_learning_edtech_glued_pair() -> None:
    assert parse_caption("New course! #learning#edtech").hashtags == ("learning", "edtech")


def test_case_folding_mentions_and_trailing_url_of_a_real_caption() -> None:
    # given: 'Who are #DataScientist and what do they do? >> @MikeQuindazzi >> #MachineLearning #AI ... >> https://...'
    parsed = parse_caption(reach(0))

    assert parsed.hashtags == (
        "datascientist",
        "machinelearning",
        "ai",
        "dataanalytics",
        "datascienc",
        "datalake",
    )
    assert parsed.mentions == ("mikequindazzi",)


def test_tag_followed_by_a_glued_mention_and_line_separator() -> None:
    # given: '... in\xa0#VR\xa0with\xa0#ThinkRevolutionist@MX3DBridge\xa0#NXTBLD\u2028.'
    parsed = parse_caption(reach(6))

    assert parsed.hashtags == ("3dprintedbridge", "vr", "thinkrevolutionist", "nxtbld")
    assert parsed.mentions == ("mx3dbridge",)


def test_punctuation_before_and_inside_real_tag_runs() -> None:
    # given: '... slide\xa0#deck\xa0.#mac\xa0#macintosh#sayhello\xa0#apple ...'
    assert parse_caption(reach(1)).hashtags[:8] == (
        "workresponsibly", "deck", "mac", "macintosh", "sayhello", "apple", "stevejobs", "ai",
    )  # fmt: skip


def test_unicode_letters_are_kept() -> None:
    # given: '... at\xa0#IOTA\xa0Foundation,spoke at the\xa0#Wrocław\xa0#Blockchain\xa0Meetup ...'
    assert parse_caption(reach(35)).hashtags == ("iota", "wrocław", "blockchain")
    assert parse_caption("#Straße #STRASSE #café #東京 #नमस्ते").hashtags == ("strasse", "café", "東京", "नमस्ते")


def test_email_is_not_a_mention_but_glued_mentions_are() -> None:
    # given: '... send us an email at jobs@lb3enterprises.com to apply!'
    assert parse_caption(reach(98)).mentions == ()
    # given: 'featured in The Future CMO Magazine in\xa0@thetimes@raconteur_london\xa0Go get a copy!'
    assert parse_caption(reach(10)).mentions == ("thetimes", "raconteur_london")
    # given: '... reach out to me at @aman.kharwal, ...': the trailing comma ends it, dots inside stay
    assert parse_caption(dated(16)).mentions == ("aman.kharwal",)


def test_real_nbsp_separated_hashtag_column_in_order() -> None:
    assert parse_caption(dated(0, "Hashtags")).hashtags == (
        "finance", "money", "business", "investing", "investment", "trading", "stockmarket", "data",
        "datascience", "dataanalysis", "dataanalytics", "datascientist", "machinelearning", "python",
        "pythonprogramming", "pythonprojects", "pythoncode", "artificialintelligence", "ai", "dataanalyst",
        "amankharwal", "thecleverprogrammer",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "hashtags", "mentions"),
    [
        (None, (), ()),
        ("", (), ()),
        ("#AI #ai #Ai.", ("ai",), ()),
        ("C# and page#anchor and https://x.io/#frag www.x.io/#f", (), ()),
        ("#2020 #1st #_", ("1st",), ()),
        ("end.#tag!", ("tag",), ()),
        ("＃fullwidth", ("fullwidth",), ()),
        ("@ alone, @. and @Ana_B.", (), ("ana_b",)),
        ("@" + "a" * 31, (), ()),
        ("love #love❤️ #tag's", ("love", "tag"), ()),
    ],
)
def test_edge_cases(text: str | None, hashtags: tuple[str, ...], mentions: tuple[str, ...]) -> None:
    parsed = parse_caption(text)
    assert (parsed.hashtags, parsed.mentions) == (hashtags, mentions)


def test_overlong_tags_are_dropped_not_truncated() -> None:
    longest = "a" * HASHTAG_MAX_CHARS
    parsed = parse_caption(f"#{longest} #{'b' * (HASHTAG_MAX_CHARS + 1)} #ok")
    assert parsed.hashtags == (longest, "ok")
    assert parsed.dropped_hashtags == 1


def test_a_tag_that_case_folding_lengthens_past_the_limit_is_dropped() -> None:
    parsed = parse_caption(f"#{'ß' * 60} #{'ß' * 50}")
    assert parsed.hashtags == ("ss" * 50,)
    assert parsed.dropped_hashtags == 1
