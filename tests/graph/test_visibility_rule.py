"""Every statement that reads user-owned content for a viewer composes the one visibility rule.

User-owned content is what a private account or a block hides: posts, comments, stories, highlights, likes,
follows and views (``:Post``, ``:Comment``, ``:Story``, ``:Highlight``, ``[:LIKED]``, ``[:FOLLOWS]``,
``[:VIEWED]``). A read on a viewer's behalf that names one of them must contain one of the fragments that
``graph.statements.visibility`` renders (``can_view``, ``post_visible``, ``no_block``, ``user_visible``,
``viewer_relation``). Statements run for the system (workers, the import) are declared ``system=True``;
writes check the rule in their own statement (the capability tests show it). The few reads of the viewer's
OWN data are listed below with the reason.
"""

from __future__ import annotations

import re

import pytest

from graph.cypher import Statement, load_statement_modules, registered
from graph.statements.visibility import rendered_fragments

_CONTENT = re.compile(r":(?:Post|Comment|Story|Highlight)\b|:(?:LIKED|FOLLOWS|VIEWED)\b")

#: Viewer-facing reads of the viewer's own data, which no other user's privacy or block can hide.
OWN_DATA = {
    "feed.VIEWER_CONTEXT": "the viewer's own followees (a block removes the follows both ways)",
    "follows.RELATIONSHIPS": "the viewer's own edges to a batch of users (the flags of User.viewerFollows...)",
    "stories.ARCHIVE_PAGE": "the viewer's own stories, every status but DELETED (storyArchive)",
    "story_ring.FOLLOWEE_IDS": "the viewer's own followees (a block removes the follows both ways; the ring "
    "applies the rule to the candidate stories in RING_STORIES)",
}


def _viewer_reads() -> list[Statement]:
    load_statement_modules()
    return [
        s for s in registered()
        if not s.write and not s.system and not s.name.startswith("tests.") and _CONTENT.search(s.text)
    ]  # fmt: skip


def test_the_content_reads_are_found() -> None:
    names = {s.name for s in _viewer_reads()}

    assert {"posts.POSTS_BY_IDS", "engagement.COMMENTS_PAGE", "engagement.LIKERS_PAGE"} <= names


@pytest.mark.parametrize("stmt", _viewer_reads(), ids=lambda s: s.name)
def test_viewer_reads_of_user_owned_content_compose_a_visibility_fragment(stmt: Statement) -> None:
    if stmt.name in OWN_DATA:
        return
    fragments = rendered_fragments()

    assert any(fragment in stmt.text for fragment in fragments), (
        f"{stmt.name} reads user-owned content for a viewer without graph.statements.visibility's rule; "
        "compose can_view/post_visible/no_block/user_visible/viewer_relation, or declare it system=True"
    )


def test_own_data_entries_name_real_statements() -> None:
    names = {s.name for s in _viewer_reads()}

    assert set(OWN_DATA) <= names
