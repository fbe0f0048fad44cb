"""Stories in GraphQL: ``Story``, the stories ring, ``story(id:)``, ``storyArchive``, ``createStory``,
``completeStoryUpload``, ``viewStory``, ``deleteStory`` and their inputs and payloads; ``Story`` registered
for ``node(id:)``. Fields delegate to ``resolvers.stories``; global IDs are decoded here (a malformed one is
``BAD_USER_INPUT`` naming the field: ``id``, ``storyId``)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING

import strawberry
from strawberry.types import Info

from resolvers import stories as story_resolvers
from resolvers import users as user_resolvers
from resolvers.loading import settle
from schema.base import Node, PageInfo, from_global_id, from_ms, to_global_id
from schema.node import register_node
from schema.posts import Media, MediaInput, MediaUpload
from schema.users import User, UserConnection
from services.core.records import StoryRecord
from services.posts import MediaSpec

if TYPE_CHECKING:
    from services.core.pagination import Page
    from services.stories import CreatedStory
    from services.story_ring import RingItem


@strawberry.enum
class StoryStatus(Enum):
    PENDING_UPLOAD = "PENDING_UPLOAD"
    PROCESSING = "PROCESSING"
    ACTIVE = "ACTIVE"
    EXPIRED = "EXPIRED"
    DELETED = "DELETED"
    FAILED = "FAILED"


@strawberry.enum(description="Who may see a story: whoever may see the account, or its close-friends list.")
class StoryAudience(Enum):
    FOLLOWERS = "FOLLOWERS"
    CLOSE_FRIENDS = "CLOSE_FRIENDS"


@strawberry.type
class Story(Node):
    id: strawberry.ID
    status: StoryStatus
    audience: StoryAudience
    created_at: datetime
    expires_at: datetime = strawberry.field(description="createdAt + the story lifetime (24 h).")
    failure_reason: str | None
    record: strawberry.Private[StoryRecord]

    @classmethod
    def from_record(cls, rec: StoryRecord) -> Story:
        """Map a story record."""
        return cls(
            id=to_global_id("Story", rec.id),
            status=StoryStatus(rec.status),
            audience=StoryAudience(rec.audience),
            created_at=from_ms(rec.created_at),  # type: ignore[arg-type]
            expires_at=from_ms(rec.expires_at),  # type: ignore[arg-type]
            failure_reason=rec.failure_reason,
            record=rec,
        )

    @strawberry.field
    def author(self, info: Info) -> User:
        return settle(user_resolvers.user_by_id_now(info, self.record.author_id), User.from_record)  # type: ignore[return-value]

    @strawberry.field(
        description="Null until processing is over, and once the story expired outside every highlight. Its "
        "URLs are presigned GETs that expire no later than the story."
    )
    def media(self) -> Media | None:
        return None if self.record.media is None else Media.from_record(self.record.media)

    @strawberry.field
    def viewer_has_seen(self, info: Info) -> bool:
        return story_resolvers.viewer_has_seen(info, self.record)  # type: ignore[return-value]

    @strawberry.field(description="Distinct viewers; the author alone sees it (null for everyone else).")
    async def view_count(self, info: Info) -> int | None:
        return await story_resolvers.view_count(info, self.record)

    @strawberry.field(description="The author only (null otherwise), most recent viewer first.")
    async def viewers(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> UserConnection | None:
        page = await story_resolvers.viewers(info, self.record, first, after)
        return None if page is None else UserConnection.of(page)


@strawberry.type
class StoryEdge:
    cursor: str
    node: Story


@strawberry.type
class StoryConnection:
    edges: list[StoryEdge]
    page_info: PageInfo

    @classmethod
    def of(cls, page: Page[StoryRecord]) -> StoryConnection:
        """Map a page of story records."""
        return cls(
            edges=[StoryEdge(cursor=c, node=Story.from_record(r)) for c, r in page.items],
            page_info=PageInfo.of(page),
        )


@strawberry.type
class StoryRingItem:
    user: User
    has_unseen: bool
    latest_at: datetime
    stories: list[Story] = strawberry.field(description="Oldest first.")

    @classmethod
    def of(cls, item: RingItem) -> StoryRingItem:
        """Map a ring item."""
        return cls(
            user=User.from_record(item.user),
            has_unseen=item.has_unseen,
            latest_at=from_ms(item.latest_at),  # type: ignore[arg-type]
            stories=[Story.from_record(s) for s in item.stories],
        )


@strawberry.type
class StoryRingEdge:
    cursor: str
    node: StoryRingItem


@strawberry.type
class StoryRingConnection:
    edges: list[StoryRingEdge]
    page_info: PageInfo

    @classmethod
    def of(cls, page: Page[RingItem]) -> StoryRingConnection:
        """Map a page of ring items."""
        return cls(
            edges=[StoryRingEdge(cursor=c, node=StoryRingItem.of(i)) for c, i in page.items],
            page_info=PageInfo.of(page),
        )


@strawberry.input(description="One photo (JPEG, PNG or WebP, 1 byte to 20 MB) and who may see the story.")
class CreateStoryInput:
    media: MediaInput
    audience: StoryAudience = StoryAudience.FOLLOWERS


@strawberry.type
class CreateStoryPayload:
    story: Story
    upload: MediaUpload

    @classmethod
    def of(cls, created: CreatedStory) -> CreateStoryPayload:
        """Map ``create_story``'s result."""
        return cls(story=Story.from_record(created.story), upload=MediaUpload.of(created.upload))


@strawberry.input
class StoryIdInput:
    story_id: strawberry.ID


def story_id(global_id: str, field: str) -> str:
    """The raw id of a Story global ID; raises ``BadInput(field)`` for a malformed or non-Story ID."""
    return from_global_id(global_id, field=field, expected="Story")[1]


async def _story_node(info: Info, raw_id: str) -> Story | None:
    record = await story_resolvers.story_or_none(info, raw_id)
    return None if record is None else Story.from_record(record)


register_node("Story", _story_node)


@strawberry.type
class StoriesQuery:
    @strawberry.field(
        description="Followed users (and the viewer) with live stories the viewer may see: the viewer's own "
        "item first, then users with unseen stories, then by latestAt newest first. Requires authentication."
    )
    async def stories_ring(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> StoryRingConnection:
        return StoryRingConnection.of(await story_resolvers.stories_ring(info, first, after))

    @strawberry.field(description="A story; null when absent, expired (unless in a highlight), or hidden.")
    async def story(self, info: Info, id: strawberry.ID) -> Story | None:
        return await _story_node(info, story_id(id, "id"))

    @strawberry.field(
        description="The viewer's own stories in every status but DELETED (expired ones included), newest "
        "first. Requires authentication."
    )
    async def story_archive(self, info: Info, first: int | None = 20, after: str | None = None) -> StoryConnection:
        return StoryConnection.of(await story_resolvers.story_archive(info, first, after))


@strawberry.type
class StoriesMutation:
    @strawberry.mutation(description="Create a story in PENDING_UPLOAD and get the presigned POST of its photo.")
    async def create_story(self, info: Info, input: CreateStoryInput) -> CreateStoryPayload:
        m = input.media
        spec = MediaSpec(m.content_type, m.byte_size, m.alt_text)
        return CreateStoryPayload.of(await story_resolvers.create_story(info, spec, input.audience.value))

    @strawberry.mutation(description="After uploading the photo: check it and queue the story for processing.")
    async def complete_story_upload(self, info: Info, input: StoryIdInput) -> Story:
        record = await story_resolvers.complete_story_upload(info, story_id(input.story_id, "storyId"))
        return Story.from_record(record)

    @strawberry.mutation(description="Mark a story seen; idempotent. The author's own view counts nothing.")
    async def view_story(self, info: Info, input: StoryIdInput) -> Story:
        return Story.from_record(await story_resolvers.view_story(info, story_id(input.story_id, "storyId")))

    @strawberry.mutation(description="Delete the viewer's own story: it leaves the ring and its highlights at once.")
    async def delete_story(self, info: Info, input: StoryIdInput) -> Story:
        return Story.from_record(await story_resolvers.delete_story(info, story_id(input.story_id, "storyId")))
