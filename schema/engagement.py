"""Likes and comments in GraphQL: ``likePost``, ``unlikePost``, ``addComment``, ``deleteComment``, their
inputs, and ``Comment`` for ``node(id:)``. Global IDs are decoded here; a malformed one is ``BAD_USER_INPUT``
naming the input field (``postId``, ``commentId``)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers import engagement as engagement_resolvers
from schema.base import from_global_id
from schema.node import register_node
from schema.posts import Comment, Post, PostIdInput
from schema.rate_limits import Throttled


@strawberry.input(description="`text`: 1 to 2,200 characters after trimming.")
class AddCommentInput:
    post_id: strawberry.ID
    text: str


@strawberry.input
class CommentIdInput:
    comment_id: strawberry.ID


def _post_id(global_id: str) -> str:
    return from_global_id(global_id, field="postId", expected="Post")[1]


def _comment_id(global_id: str) -> str:
    return from_global_id(global_id, field="commentId", expected="Comment")[1]


async def _comment_node(info: Info, raw_id: str) -> Comment | None:
    record = await engagement_resolvers.comment_node(info, raw_id)
    return None if record is None else Comment.from_record(record)


register_node("Comment", _comment_node)


@strawberry.type
class EngagementMutation:
    @strawberry.mutation(
        description="Like a post; liking twice is one like. NOT_FOUND when hidden or deleted.",
        extensions=[Throttled("likePost")],
    )
    async def like_post(self, info: Info, input: PostIdInput) -> Post:
        return Post.from_record(await engagement_resolvers.like_post(info, _post_id(input.post_id)))

    @strawberry.mutation(
        description="Remove the viewer's like; a no-op when there is none.", extensions=[Throttled("likePost")]
    )
    async def unlike_post(self, info: Info, input: PostIdInput) -> Post:
        return Post.from_record(await engagement_resolvers.unlike_post(info, _post_id(input.post_id)))

    @strawberry.mutation(
        description="Comment on a post. NOT_FOUND when the post is hidden or deleted.",
        extensions=[Throttled("addComment")],
    )
    async def add_comment(self, info: Info, input: AddCommentInput) -> Comment:
        post_id = _post_id(input.post_id)
        return Comment.from_record(await engagement_resolvers.add_comment(info, post_id, input.text))

    @strawberry.mutation(description="Delete a comment: its author or the post's author; others FORBIDDEN.")
    async def delete_comment(self, info: Info, input: CommentIdInput) -> Comment:
        comment_id = _comment_id(input.comment_id)
        return Comment.from_record(await engagement_resolvers.delete_comment(info, comment_id))
