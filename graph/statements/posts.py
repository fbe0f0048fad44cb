"""Cypher statements of posts and their media (valid on Neo4j 5 and FalkorDB 4.16).

Graph shape (DESIGN.md "Data model")::

    (:User)-[:POSTED]->(:Post {id, caption, status, failure_reason, created_at, updated_at, published_at,
                               deleted_at, like_count, comment_count, media_count, seed_key})
    (:Post)-[:HAS_MEDIA {position}]->(:Media {id, key, content_type, byte_size, alt_text, width, height,
                                              variants})      variants: JSON object size -> S3 key
    (:Post)-[:TAGGED {position}]->(:Hashtag {name})           name <= 100 chars, case-folded
    (:Post)-[:MENTIONS {position}]->(:User)

Status machine: PENDING_UPLOAD -> PROCESSING -> PUBLISHED, any of them -> DELETED, PENDING_UPLOAD or
PROCESSING -> FAILED. Every transition is one statement guarded by the expected current status (optimistic
concurrency: zero rows means someone else moved the post first) and, where an event follows, writes its
Outbox node in the same statement. ``User.post_count`` counts PUBLISHED posts only.
Pattern comprehensions appear only in projections (FalkorDB rejects them inside ``WHERE``), and sibling
pattern comprehensions of one projection use distinct variable names (FalkorDB 4.16 mixes up a relationship
variable reused across them: ``r.position`` came back null).

Keyset predicates come from ``graph.keyset`` (a ``CASE`` form, not ``ts < $ts OR (ts = $ts AND id < $id)``):
FalkorDB 4.16 answers an upper bound on an INDEXED string property (``Post.id``) wrongly when it plans an
index scan for it, so the OR form repeated the cursor's own post on the next page (see that module).
"""

from __future__ import annotations

from graph.cypher import cypher
from graph.keyset import keyset_before
from graph.statements.outbox import WRITE_OUTBOX
from graph.statements.visibility import can_view, viewer_relation

_CONTENT_ITEMS: tuple[tuple[str, str], ...] = (
    ("post", "p {.id, .caption, .status, .failure_reason, .created_at, .like_count, .comment_count, .lat, .lng, "
             ".location_name}"),
    ("author_id", "a.id"),
    ("author_private", "coalesce(a.is_private, false)"),
    ("media", "[(p)-[hm:HAS_MEDIA]->(m:Media) | m {.id, .key, .content_type, .byte_size, .alt_text, .width, "
              ".height, .variants, position: hm.position}]"),
    ("hashtags", "[(p)-[t:TAGGED]->(h:Hashtag) | {position: t.position, name: h.name}]"),
    ("mentions", "[(p)-[mn:MENTIONS]->(u:User) | {position: mn.position, id: u.id}]"),
)

#: Projection of one post's content for ``services.post_reads.record_from_row`` (needs ``a`` the author and
#: ``p`` the post): the post's own properties, its author's id and privacy, media, hashtags and mentions.
POST_CONTENT = "\n    " + ",\n    ".join(f"{expr} AS {name}" for name, expr in _CONTENT_ITEMS) + "\n"

#: The same content as ONE map expression (keys as the ``POST_CONTENT`` columns), for a statement that
#: returns it only for some rows (``CASE WHEN ... THEN <map> END``).
POST_CONTENT_MAP = "{" + ", ".join(f"{name}: {expr}" for name, expr in _CONTENT_ITEMS) + "}"

#: ``POST_CONTENT`` plus what decides visibility for the viewer ``viewer`` (bound by ``OPTIONAL MATCH``; null
#: for nobody): ``graph.statements.visibility.viewer_relation``'s ``viewer_follows`` and ``blocked`` flags
#: (see ``POSTS_BY_IDS``); ``services.post_reads`` applies the rule. Counted from the viewer's side (an
#: ``Expand Into`` between two bound nodes): the former pattern comprehension
#: ``[(a)<-[:FOLLOWS]-(fv:User {id: $viewer_id}) | 1]`` walked every follower of the author and filtered them
#: by id (1,568 edges for a feed page of hub authors, 1.2 ms of a 2.7 ms statement on FalkorDB's
#: GRAPH.PROFILE).
POST_FIELDS = f"""{POST_CONTENT.rstrip()},
    viewer_follows,
    blocked
"""
#: Create a post in PENDING_UPLOAD with its media, hashtags (MERGEd) and mentions of existing users other
#: than the author who do not block the author either way. ``$post``: the Post's properties; ``$media``:
#: ``[{id, key, content_type, byte_size, alt_text, position}]``; ``$hashtags``: ``[{name, position}]``;
#: ``$mentions``: usernames in caption order. Rows: ``{id, mentioned}`` (none when the author is absent).
CREATE_POST = cypher(
    "posts.CREATE_POST",
    """
    MATCH (a:User {id: $author_id})
    CREATE (a)-[:POSTED]->(p:Post)
    SET p = $post
    FOREACH (m IN $media |
        CREATE (p)-[:HAS_MEDIA {position: m.position}]->(x:Media)
        SET x.id = m.id, x.key = m.key, x.content_type = m.content_type, x.byte_size = m.byte_size,
            x.alt_text = m.alt_text)
    FOREACH (t IN $hashtags |
        MERGE (h:Hashtag {name: t.name})
        CREATE (p)-[:TAGGED {position: t.position}]->(h))
    WITH a, p
    OPTIONAL MATCH (u:User)
    WHERE u.username IN $mentions AND u.id <> a.id AND NOT (u)-[:BLOCKS]-(a)
    WITH p, collect(u) AS mentioned
    FOREACH (u IN mentioned |
        CREATE (p)-[r:MENTIONS]->(u)
        SET r.position = [i IN range(0, size($mentions) - 1) WHERE $mentions[i] = u.username][0])
    RETURN p.id AS id, size(mentioned) AS mentioned
    """,
    write=True,
)

#: Posts by id as ``$viewer_id`` would see them (the policy is applied by the service). Rows: POST_FIELDS.
POSTS_BY_IDS = cypher(
    "posts.POSTS_BY_IDS",
    f"""
    OPTIONAL MATCH (viewer:User {{id: $viewer_id}})
    WITH viewer
    UNWIND $ids AS post_id
    MATCH (a:User)-[:POSTED]->(p:Post {{id: post_id}})
    {viewer_relation("viewer", "a", "viewer, a, p")}
    RETURN {POST_FIELDS}
    """,
)

#: The seeded posts among ``$seed_keys``. Rows: ``{seed_key, id, status, author_id}``.
POSTS_BY_SEED_KEYS = cypher(
    "posts.POSTS_BY_SEED_KEYS",
    """
    MATCH (a:User)-[:POSTED]->(p:Post)
    WHERE p.seed_key IN $seed_keys
    RETURN p.seed_key AS seed_key, p.id AS id, p.status AS status, a.id AS author_id
    """,
    system=True,
)

#: Ids of the users named in ``$usernames``. Rows: ``{username, id}``.
USER_IDS_BY_USERNAMES = cypher(
    "posts.USER_IDS_BY_USERNAMES",
    """
    MATCH (u:User)
    WHERE u.username IN $usernames
    RETURN u.username AS username, u.id AS id
    """,
)

#: The posts of each author of ``$author_ids``, newest first, strictly after the keyset cursor
#: ``($before_ts, $before_id)`` (first page: a null or huge ts), as ``$viewer_id`` may see them: the author's
#: own posts in ``$own_statuses``, PUBLISHED posts of an author whose content the viewer may see, nothing
#: else. ONE statement for a batch of authors (a DataLoader's): every author's posts are sorted together,
#: collected per author in that order and cut at ``$limit`` each. Rows: POST_CONTENT.
USER_POSTS_PAGE = cypher(
    "posts.USER_POSTS_PAGE",
    f"""
    OPTIONAL MATCH (v:User {{id: $viewer_id}})
    WITH v
    UNWIND $author_ids AS author_id
    MATCH (a:User {{id: author_id}})
    OPTIONAL MATCH (gate:User {{id: author_id}}) WHERE {can_view("gate", "v")}
    WITH a, gate IS NOT NULL AS visible,
         CASE WHEN a.id = $viewer_id THEN $own_statuses ELSE ['PUBLISHED'] END AS statuses
    MATCH (a)-[:POSTED]->(p:Post)
    WHERE visible AND p.status IN statuses
      AND {keyset_before("p.created_at", "p.id", "before_ts", "before_id")}
    WITH a, p
    ORDER BY p.created_at DESC, p.id DESC
    WITH a, collect(p)[0..$limit] AS page
    UNWIND page AS p
    RETURN {POST_CONTENT}
    """,
)

#: PENDING_UPLOAD -> PROCESSING by its author, with the ``media.uploaded`` Outbox node. Rows: ``{id}``.
MARK_PROCESSING = cypher(
    "posts.MARK_PROCESSING",
    f"""
    MATCH (a:User {{id: $author_id}})-[:POSTED]->(p:Post {{id: $post_id}})
    WHERE p.status = 'PENDING_UPLOAD'
    SET p.status = 'PROCESSING', p.updated_at = $now
    {WRITE_OUTBOX}
    RETURN p.id AS id
    """,
    write=True,
)

#: PROCESSING -> PUBLISHED: sets each media item's ``width``, ``height`` and ``variants`` from ``$media``
#: (``[{id, width, height, variants}]``), bumps the author's ``post_count`` and writes ``post.published``;
#: only when all ``$media_count`` items were updated. Rows: ``{id}`` (0: not PROCESSING any more).
PUBLISH = cypher(
    "posts.PUBLISH",
    f"""
    MATCH (a:User)-[:POSTED]->(p:Post {{id: $post_id}})
    WHERE p.status = 'PROCESSING'
    MATCH (p)-[:HAS_MEDIA]->(x:Media)
    WITH a, p, x, [m IN $media WHERE m.id = x.id] AS found
    WHERE size(found) = 1
    SET x.width = found[0].width, x.height = found[0].height, x.variants = found[0].variants
    WITH a, p, count(x) AS updated
    WHERE updated = $media_count
    SET p.status = 'PUBLISHED', p.published_at = $now, p.updated_at = $now,
        a.post_count = coalesce(a.post_count, 0) + 1
    {WRITE_OUTBOX}
    RETURN p.id AS id
    """,
    write=True,
    system=True,
)

#: ``$from`` statuses -> FAILED with ``$reason``. Rows: ``{id}`` (0: not in one of ``$from``).
MARK_FAILED = cypher(
    "posts.MARK_FAILED",
    """
    MATCH (p:Post {id: $post_id})
    WHERE p.status IN $from
    SET p.status = 'FAILED', p.failure_reason = $reason, p.updated_at = $now
    RETURN p.id AS id
    """,
    write=True,
    system=True,
)

#: ``$expected`` status -> DELETED by its author, ``post_count`` down when it was PUBLISHED, and the
#: ``post.deleted`` Outbox node. Rows: ``{id}`` (0: the status changed meanwhile).
SOFT_DELETE = cypher(
    "posts.SOFT_DELETE",
    f"""
    MATCH (a:User {{id: $author_id}})-[:POSTED]->(p:Post {{id: $post_id}})
    WHERE p.status = $expected
    SET p.status = 'DELETED', p.deleted_at = $now, p.updated_at = $now,
        a.post_count = CASE WHEN $expected = 'PUBLISHED' THEN coalesce(a.post_count, 1) - 1
                       ELSE a.post_count END
    {WRITE_OUTBOX}
    RETURN p.id AS id
    """,
    write=True,
)

#: The media of post ``$post_id`` whatever its status (for the S3 clean-up). Rows: ``{status, media}``.
POST_MEDIA = cypher(
    "posts.POST_MEDIA",
    """
    MATCH (p:Post {id: $post_id})
    RETURN p.status AS status,
           [(p)-[r:HAS_MEDIA]->(m:Media) | m {.id, .key, .content_type, .byte_size, .variants,
                                              position: r.position}] AS media
    """,
    system=True,
)

#: Posts in ``$status`` last changed before ``$before`` (ms), oldest first, at most ``$limit``. Rows:
#: ``{id, author_id, created_at, updated_at}``.
STALE_POSTS = cypher(
    "posts.STALE_POSTS",
    """
    MATCH (a:User)-[:POSTED]->(p:Post)
    WHERE p.status = $status AND coalesce(p.updated_at, p.created_at) < $before
    RETURN p.id AS id, a.id AS author_id, p.created_at AS created_at,
           coalesce(p.updated_at, p.created_at) AS updated_at
    ORDER BY updated_at
    LIMIT $limit
    """,
    system=True,
)

#: Every post of ``$owner_id`` that is not DELETED as ``{id, created_at}`` (no order): what
#: ``cache.edge_index`` rebuilds ``authored:{uid}`` from, once per key (``AUTHORED_PAGE_POSTS`` checks what is
#: shown).
AUTHORED_EDGES = cypher(
    "posts.AUTHORED_EDGES",
    """
    MATCH (:User {id: $owner_id})-[:POSTED]->(p:Post)
    WHERE p.status <> 'DELETED'
    RETURN p.id AS id, p.created_at AS created_at
    """,
    system=True,
)

#: The posts named by index pages (``$pages``: ``[{owner_id, ids}]``) as ``$viewer_id`` may see them: per
#: existing author ``{id, visible, total, items}`` (``items``: ``POST_CONTENT`` maps plus ``id`` and
#: ``edge_created_at``; PUBLISHED posts, and the author's own pending or failed ones in ``$own_statuses``;
#: nothing when the author's content is not visible: private and not followed, or a block either way). The
#: gate is ``viewer_relation`` between the author and ``probe`` (the viewer, or for nobody the author itself,
#: so that no pattern is anchored on a NULL node, which FalkorDB answers by scanning every node).
AUTHORED_PAGE_POSTS = cypher(
    "posts.AUTHORED_PAGE_POSTS",
    f"""
    UNWIND $pages AS page
    MATCH (a:User {{id: page.owner_id}})
    MATCH (probe:User {{id: coalesce($viewer_id, page.owner_id)}})
    {viewer_relation("probe", "a", "a, page, probe")}
    WITH a, page, $viewer_id IS NOT NULL AND a.id = $viewer_id AS own,
         NOT blocked AND (NOT coalesce(a.is_private, false) OR
         ($viewer_id IS NOT NULL AND (a.id = $viewer_id OR viewer_follows))) AS visible
    UNWIND CASE WHEN visible AND size(page.ids) > 0 THEN page.ids ELSE [null] END AS post_id
    OPTIONAL MATCH (p:Post {{id: post_id}})
    WHERE p.status = 'PUBLISHED' OR (own AND p.status IN $own_statuses)
    WITH a, visible, p
    OPTIONAL MATCH (a)-[posted:POSTED]->(p)
    WITH a, visible, p, posted
    WITH a, visible, CASE WHEN posted IS NULL THEN null ELSE {POST_CONTENT_MAP[:-1]}, id: p.id,
         edge_created_at: p.created_at}} END AS item
    RETURN a.id AS id, visible, coalesce(a.post_count, 0) AS total, collect(item) AS items
    """,
)
