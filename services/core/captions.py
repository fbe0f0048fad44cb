"""Hashtags and @mentions parsed out of a free-text caption, as Instagram users really write them.

Real captions (``../shared/datasets/instagram-posts``) separate tags with non-breaking spaces and U+2028,
glue them together (``#learning#edtech``), end them with punctuation (``#DataLake.``), write them in any case
and in any script (``#Wrocław``), and mix in e-mail addresses and URLs. The rules, after twitter-text's
``extractHashtags`` / ``extractMentions`` (github.com/twitter/twitter-text) and Instagram's help centre:

- A tag starts at ``#`` (or the full-width ``＃``) that is NOT preceded by a word character, unless that
  character ends the previous tag or mention (so ``#learning#edtech`` is two tags, while ``page#anchor`` and
  ``C#`` are none). Its body is the longest run of letters, digits, ``_`` and combining marks (``str.isalnum``
  plus Unicode categories Mn/Mc), so punctuation, emoji and spaces of any kind end it.
- A body without any letter (``#2020``) is not a tag (Instagram does not link number-only tags).
- Names are NFC-normalised and ``casefold()``-ed, de-duplicated, and kept in caption order.
- A name longer than ``HASHTAG_MAX_CHARS`` (100) after normalisation (case folding can lengthen it: ``ß`` ->
  ``ss``) is dropped, not truncated: a truncated name is a tag the author never wrote, and FalkorDB crashes on
  long strings under a unique constraint (``Hashtag.name``).
- URLs (``https://…``, ``www.…``) are skipped whole: ``https://x.io/#frag`` holds no tag.
- A mention starts at ``@`` under the same "not after a word character" rule (so ``jobs@lb3.com`` is an
  e-mail address, but ``#ThinkRevolutionist@MX3DBridge`` mentions ``mx3dbridge``); its body is a run of
  username characters ``[A-Za-z0-9._]`` without trailing dots, case-folded; bodies over 30 characters (the
  username limit) are not usernames and are dropped.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

HASHTAG_MAX_CHARS = 100  # longer tags are dropped (see module docstring)
USERNAME_MAX_CHARS = 30  # accounts: ``^[a-z0-9._]{1,30}$``
_HASH = frozenset("#\uff03")
_AT = frozenset("@\uff20")
_USERNAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._")
_MARKS = frozenset({"Mn", "Mc"})
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ParsedCaption:
    """``hashtags``: names without ``#``; ``mentions``: usernames without ``@``; both case-folded, unique,
    in caption order. ``dropped_hashtags`` counts tags over ``HASHTAG_MAX_CHARS`` that were ignored."""

    hashtags: tuple[str, ...]
    mentions: tuple[str, ...]
    dropped_hashtags: int = 0


def _is_tag_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_" or unicodedata.category(ch) in _MARKS


def _normalise(name: str) -> str:
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


def parse_caption(text: str | None) -> ParsedCaption:
    """Extract the hashtags and mentions of ``text`` (``None`` or empty -> no tags).

    Linear in ``len(text)``; never raises. Limits (30 tags, 20 mentions) are the caller's to enforce.
    """
    if not text:
        return ParsedCaption((), ())
    tags: dict[str, None] = {}
    mentions: dict[str, None] = {}
    dropped = 0
    token_end = -1  # index just after the last tag or mention: a glued '#'/'@' may start there
    urls = {m.start(): m.end() for m in _URL.finditer(text)}
    i, n = 0, len(text)
    while i < n:
        if i in urls:
            i = urls[i]
            continue
        ch = text[i]
        if ch not in _HASH and ch not in _AT:
            i += 1
            continue
        if i > 0 and i != token_end and _is_tag_char(text[i - 1]):
            i += 1  # inside a word: an e-mail address, a URL fragment, "C#"
            continue
        j = i + 1
        if ch in _HASH:
            while j < n and _is_tag_char(text[j]):
                j += 1
            body = text[i + 1 : j]
            if any(c.isalpha() for c in body):
                name = _normalise(body)
                if len(name) > HASHTAG_MAX_CHARS:  # measured after case folding, which may lengthen it
                    dropped += 1
                else:
                    tags.setdefault(name, None)
                token_end = j
        else:
            while j < n and text[j] in _USERNAME_CHARS:
                j += 1
            body = text[i + 1 : j].rstrip(".")
            j = i + 1 + len(body)
            if body:
                if len(body) <= USERNAME_MAX_CHARS:
                    mentions.setdefault(body.casefold(), None)
                token_end = j
        i = max(j, i + 1)
    return ParsedCaption(tuple(tags), tuple(mentions), dropped)


def normalize_hashtag(raw: str) -> str | None:
    """The hashtag name ``raw`` stands for, as ``parse_caption`` stores it (NFC, case-folded, without ``#``),
    or ``None`` when ``raw`` is not exactly one hashtag: blank, other characters than a tag's, no letter, or
    over ``HASHTAG_MAX_CHARS`` after folding. A leading ``#`` (or ``＃``) is optional: ``#Sunset`` and
    ``sunset`` both give ``sunset``."""
    body = raw.strip()
    if body[:1] in _HASH:
        body = body[1:]
    if not body or not all(_is_tag_char(ch) for ch in body) or not any(ch.isalpha() for ch in body):
        return None
    name = _normalise(body)
    return name if len(name) <= HASHTAG_MAX_CHARS else None
