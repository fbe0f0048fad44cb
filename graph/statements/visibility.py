"""The visibility rule in Cypher, as the fragments every statement that reads user-owned content composes.

Rule: a public account's content is visible to everyone; a private account's only to itself and its approved
followers (a FOLLOWS edge, not a pending REQUESTED one). A block in EITHER direction hides the content too;
a user who blocks the viewer is moreover ``NOT_FOUND`` to them (``ACCESS.blocks_viewer``). Deleted content is
never served (each content type says what "deleted" is: ``post_visible`` for posts). An anonymous viewer sees
public content only. ``services.visibility.may_view`` is the same rule in Python, for the flags that
``viewer_relation`` returns.

Every fragment takes VARIABLE names: ``owner`` a bound ``User``, ``viewer`` a ``User`` bound by ``OPTIONAL
MATCH`` (null for an anonymous viewer)::

    OPTIONAL MATCH (v:User {id: $viewer_id})
    WITH v
    MATCH (a:User)-[:POSTED]->(p:Post {id: $post_id})
    WHERE {post_visible("p", "a", "v")}

The fragments are ``WHERE`` pattern predicates and ``OPTIONAL MATCH`` + ``count``: valid on Neo4j 5 and
FalkorDB 4.16, which re-resolves them correctly (pattern comprehensions over a relationship type are cached
stale on FalkorDB, and FalkorDB rejects them inside ``WHERE``). Use the ``WHERE`` fragments in a ``WHERE``
only: FalkorDB evaluates a pattern predicate inside a projection (``RETURN {can_view(...)} AS visible``) to a
list and fails; for a flag, gate an ``OPTIONAL MATCH`` with it (``ACCESS`` below) or use ``viewer_relation``.
A pattern predicate between two BOUND nodes is an expand-into: it costs the smaller adjacency, never a scan of
the author's followers.

Each fragment this module renders is recorded (:func:`rendered_fragments`), so that a test can check that
every statement reading user-owned content on a viewer's behalf composes one of them.
"""

from __future__ import annotations

from graph.cypher import cypher

_RENDERED: set[str] = set()


def _rendered(text: str) -> str:
    _RENDERED.add(text)
    return text


def rendered_fragments() -> frozenset[str]:
    """Every fragment text rendered so far (statements render theirs when their module is imported)."""
    return frozenset(_RENDERED)


def user_visible(user: str, viewer: str) -> str:
    """``WHERE`` expression: the bound ``user`` has not blocked the (nullable) ``viewer``; a user who blocks
    the viewer is ``NOT_FOUND`` to them, in every list that returns users."""
    return _rendered(f"({viewer} IS NULL OR NOT ({user})-[:BLOCKS]->({viewer}))")


def no_block(user: str, viewer: str) -> str:
    """``WHERE`` expression: no ``BLOCKS`` edge either way between the bound ``user`` and the (nullable)
    ``viewer``. For content whose owner's privacy is decided elsewhere (a comment on a visible post, a liker).
    Two directed patterns: FalkorDB answers the undirected one slowly (``viewer_relation``)."""
    return _rendered(
        f"({viewer} IS NULL OR NOT (({user})-[:BLOCKS]->({viewer}) OR ({viewer})-[:BLOCKS]->({user})))"
    )


def can_view(owner: str, viewer: str) -> str:
    """``WHERE`` expression: the (nullable) ``viewer`` may see the content of the bound user ``owner``."""
    return _rendered(
        f"({no_block(owner, viewer)} AND (NOT coalesce({owner}.is_private, false) OR ({viewer} IS NOT NULL"
        f" AND ({owner}.id = {viewer}.id OR ({viewer})-[:FOLLOWS]->({owner})))))"
    )


def post_visible(post: str, author: str, viewer: str) -> str:
    """``WHERE`` expression: the bound ``post`` by the bound ``author`` is PUBLISHED and the viewer may see
    the author's content. (Authors also see their own unpublished posts: ``services.post_reads`` decides that
    from ``viewer_relation``'s flags.)"""
    return _rendered(f"({post}.status = 'PUBLISHED' AND {can_view(author, viewer)})")


def viewer_relation(viewer: str, owner: str, carry: str) -> str:
    """Clauses that add the columns ``viewer_follows`` and ``blocked`` (booleans) between the nullable
    ``viewer`` and the bound ``owner``, carrying the comma-separated variables ``carry`` (which must include
    both), for statements that return the flags for ``services.visibility.may_view`` to decide in Python
    (a filter that also wants to know WHY a row is hidden, e.g. to drop it from a cache).

    The block is two directed expand-intos: FalkorDB 4.16 answers the undirected ``(v)-[:BLOCKS]-(o)``
    between two bound nodes some 15 us per owner (``GRAPH.PROFILE`` of the feed filter: 0.21 ms of a 0.5 ms
    statement for a viewer following 1,045 users), a directed one in well under 1 us. (FalkorDB refuses a
    grouping key and an aggregate in one expression, hence the last ``WITH``.)"""
    return _rendered(
        f"OPTIONAL MATCH ({viewer})-[vis_follow:FOLLOWS]->({owner})\n"
        f"    WITH {carry}, count(vis_follow) > 0 AS viewer_follows\n"
        f"    OPTIONAL MATCH ({viewer})-[vis_blocks:BLOCKS]->({owner})\n"
        f"    WITH {carry}, viewer_follows, count(vis_blocks) > 0 AS viewer_blocks\n"
        f"    OPTIONAL MATCH ({owner})-[vis_blocked:BLOCKS]->({viewer})\n"
        f"    WITH {carry}, viewer_follows, viewer_blocks, count(vis_blocked) > 0 AS owner_blocks\n"
        f"    WITH {carry}, viewer_follows, viewer_blocks OR owner_blocks AS blocked"
    )


ACCESS = cypher(
    "visibility.ACCESS",
    f"""
    OPTIONAL MATCH (v:User {{id: $viewer_id}})
    WITH v
    UNWIND $owner_ids AS owner_id
    MATCH (owner:User {{id: owner_id}})
    OPTIONAL MATCH (gate:User {{id: owner_id}}) WHERE {can_view("gate", "v")}
    OPTIONAL MATCH (owner)-[hides:BLOCKS]->(v)
    RETURN owner.id AS id, gate IS NOT NULL AS visible, count(hides) > 0 AS blocks_viewer
    """,
)
"""Per owner id that exists: ``{id, visible, blocks_viewer}`` for ``$viewer_id`` (unknown ids: no row)."""
