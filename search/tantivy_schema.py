"""Tantivy schemas, analyzers and query builders of the two indexes (used by ``search.tantivy_index``).

Analyzers, registered on every opened index and applied by hand to query text (Tantivy's query objects are not
analysed, and its query parser would give user input a syntax):

- ``ig_name``: Tantivy's simple tokenizer (splits on anything not alphanumeric), words over 40 bytes dropped,
  lower-cased, ASCII-folded (``José`` finds ``jose``). Display names and the parts of usernames.
- ``ig_caption``: the same pipeline as Tantivy's built-in ``en_stem`` (simple tokenizer, 40-byte limit,
  lower-case, Snowball English stemmer): ``sunsets`` and ``sunset`` are one term.
- usernames whole and hashtags use the ``raw`` tokenizer: they are stored already normalised (usernames are
  lower-case ``[a-z0-9._]``, hashtags case-folded by ``services.core.captions``).

User ranking imitates Meilisearch's default bucket sort (words, typo, then the custom ``follower_count:desc``).
Each query word scores its best variant: 8 whole-username match, 4 exact word, 2 prefix (the LAST word only,
for as-you-type), 1 within its typo budget; word scores add up, and equal totals are ordered by follower
count. Typo budget per word, Meilisearch's defaults (``minWordSizeForTypos``): none below 5 characters, one
from 5, two from 9.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import tantivy

if TYPE_CHECKING:
    from search.geo import Box

SCHEMA_VERSION = 2  # bump on any schema change: a new directory is created and needs `instagraph search reindex`
NAME_ANALYZER, CAPTION_ANALYZER = "ig_name", "ig_caption"
MAX_QUERY_WORDS = 10  # words of a query beyond this are ignored
ONE_TYPO_FROM, TWO_TYPOS_FROM = 5, 9  # Meilisearch's typoTolerance.minWordSizeForTypos defaults
WHOLE_USERNAME, EXACT, PREFIX, TYPO = 8.0, 4.0, 2.0, 1.0


def name_analyzer() -> tantivy.TextAnalyzer:
    """The ``ig_name`` analyzer (see the module docstring)."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


def caption_analyzer() -> tantivy.TextAnalyzer:
    """The ``ig_caption`` analyzer: Tantivy's ``en_stem`` pipeline (see the module docstring)."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


def users_schema() -> tantivy.Schema:
    """``id`` (stored), ``username`` (whole), ``name`` (username parts and display name), ``bio``,
    ``follower_count`` (fast), ``is_private``, ``indexed_at`` (fast, indexed)."""
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    builder.add_text_field("username", tokenizer_name="raw")
    builder.add_text_field("name", tokenizer_name=NAME_ANALYZER)
    builder.add_text_field("bio", tokenizer_name=NAME_ANALYZER)
    builder.add_integer_field("follower_count", fast=True)
    builder.add_boolean_field("is_private", indexed=True)
    builder.add_integer_field("indexed_at", indexed=True, fast=True)
    return builder.build()


def posts_schema() -> tantivy.Schema:
    """``id`` (stored), ``author_id``, ``caption`` (stemmed), ``hashtags``, ``lat``/``lng`` (fast, indexed
    floats), ``created_at`` (fast, indexed), ``rank`` (fast: ``id_rank(id)``, the tie-break of one ms, read
    without loading the stored document), ``like_count`` (fast), ``indexed_at`` (fast, indexed)."""
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    builder.add_text_field("author_id", tokenizer_name="raw")
    builder.add_text_field("caption", tokenizer_name=CAPTION_ANALYZER)
    builder.add_text_field("hashtags", tokenizer_name="raw")
    builder.add_float_field("lat", indexed=True, fast=True)
    builder.add_float_field("lng", indexed=True, fast=True)
    builder.add_integer_field("created_at", indexed=True, fast=True)
    builder.add_integer_field("rank", fast=True)
    builder.add_integer_field("like_count", fast=True)
    builder.add_integer_field("indexed_at", indexed=True, fast=True)
    return builder.build()


def typo_budget(word: str) -> int:
    """Edits a query word may differ by: 0 below 5 characters, 1 from 5, 2 from 9 (Meilisearch's defaults)."""
    size = len(word)
    return 2 if size >= TWO_TYPOS_FROM else 1 if size >= ONE_TYPO_FROM else 0


def _const(query: tantivy.Query, score: float) -> tantivy.Query:
    return tantivy.Query.const_score_query(query, score)


def users_query(schema: tantivy.Schema, text: str, analyzer: tantivy.TextAnalyzer) -> tantivy.Query | None:
    """The scored users query for ``text`` (see the module docstring); ``None`` when it holds no word."""
    Q, should = tantivy.Query, tantivy.Occur.Should
    words = analyzer.analyze(text)[:MAX_QUERY_WORDS]
    clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
    whole = text.strip().lstrip("@").lower()
    if whole and len(words) > 1:
        clauses.append((should, _const(Q.term_query(schema, "username", whole), WHOLE_USERNAME * len(words))))
    for i, word in enumerate(words):
        last = i == len(words) - 1
        variants = [_const(Q.term_query(schema, "username", word), WHOLE_USERNAME),
                    _const(Q.term_query(schema, "name", word), EXACT)]  # fmt: skip
        for field in ("username", "name"):
            if last:
                variants.append(_const(Q.fuzzy_term_query(schema, field, word, 0, True, True), PREFIX))
            budget = typo_budget(word)
            if budget:
                variants.append(_const(Q.fuzzy_term_query(schema, field, word, budget, True, last), TYPO))
        clauses.append((should, Q.disjunction_max_query(variants)))
    return Q.boolean_query(clauses) if clauses else None


def box_query(schema: tantivy.Schema, boxes: list[Box]) -> tantivy.Query:
    """Points inside any of ``boxes`` (bounds included), from range queries on ``lat`` and ``lng``."""
    Q, must, should = tantivy.Query, tantivy.Occur.Must, tantivy.Occur.Should
    floats = tantivy.FieldType.Float
    parts = [
        (should, Q.boolean_query([
            (must, Q.range_query(schema, "lat", floats, box.lat_min, box.lat_max)),
            (must, Q.range_query(schema, "lng", floats, box.lng_min, box.lng_max)),
        ]))
        for box in boxes
    ]  # fmt: skip
    return Q.boolean_query(parts)


def posts_filter(
    schema: tantivy.Schema, words: list[str], hashtag: str | None, boxes: list[Box] | None
) -> tantivy.Query:
    """Every stemmed ``words`` in the caption, the ``hashtag``, inside ``boxes``; each part optional."""
    Q, must = tantivy.Query, tantivy.Occur.Must
    clauses = [(must, Q.term_query(schema, "caption", word)) for word in words]
    if hashtag is not None:
        clauses.append((must, Q.term_query(schema, "hashtags", hashtag)))
    if boxes:
        clauses.append((must, box_query(schema, boxes)))
    return Q.boolean_query(clauses) if clauses else Q.all_query()


def created_between(
    schema: tantivy.Schema, base: tantivy.Query, lower: int | None, upper: int | None
) -> tantivy.Query:
    """``base`` restricted to ``lower <= created_at <= upper`` (``None``: unbounded on that side)."""
    if lower is None and upper is None:
        return base
    bound = tantivy.Query.range_query(schema, "created_at", tantivy.FieldType.Integer, lower, upper)
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, base), (tantivy.Occur.Must, bound)])
