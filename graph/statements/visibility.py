"""Who may see a user's followers, following and posts: the Cypher predicate and its batch statement.

Rule (issue 3, item 4): a public account's content is visible to everyone; a private account's only to
itself and its approved followers (a FOLLOWS edge, not a pending REQUESTED one). A block in EITHER direction
hides the content too; a user who blocks the viewer is moreover ``NOT_FOUND`` to them (the lookup's job,
``blocks_viewer`` below). An anonymous viewer (``$viewer_id`` null) sees public content only.

Other capabilities reuse :func:`can_view_predicate` inside their own statements (``User.posts``, feeds)::

    MATCH (author:User {id: $author_id})-[:POSTED]->(p:Post)
    WHERE p.status = 'PUBLISHED' AND {can_view_predicate("author")}

It uses ``WHERE`` pattern predicates only (valid on Neo4j 5 and FalkorDB 4.16, which re-resolves them
correctly; pattern comprehensions over a relationship type are cached stale on FalkorDB).
"""

from __future__ import annotations

from graph.cypher import cypher


def can_view_predicate(owner: str, viewer_param: str = "viewer_id") -> str:
    """A boolean Cypher expression for use in ``WHERE``: the viewer ``$<viewer_param>`` may see the content
    of the bound user variable ``owner``. A null viewer id means anonymous (public accounts only)."""
    viewer = f"(:User {{id: ${viewer_param}}})"
    return (
        f"(NOT ({owner})-[:BLOCKS]-{viewer} AND ({owner}.id = ${viewer_param}"
        f" OR NOT coalesce({owner}.is_private, false) OR {viewer}-[:FOLLOWS]->({owner})))"
    )


ACCESS = cypher(
    "visibility.ACCESS",
    f"""
    UNWIND $owner_ids AS owner_id
    MATCH (owner:User {{id: owner_id}})
    OPTIONAL MATCH (gate:User {{id: owner_id}}) WHERE {can_view_predicate("gate")}
    OPTIONAL MATCH (owner)-[hides:BLOCKS]->(:User {{id: $viewer_id}})
    RETURN owner.id AS id, gate IS NOT NULL AS visible, count(hides) > 0 AS blocks_viewer
    """,
)
"""Per owner id that exists: ``{id, visible, blocks_viewer}`` for ``$viewer_id`` (unknown ids: no row)."""
