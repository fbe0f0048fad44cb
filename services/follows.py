"""Follow use cases: ``follow_user``, ``unfollow_user``, ``approve_follow_request``,
``reject_follow_request``, ``remove_follower`` (issue 3, items 3 and 6).

Flow of a follow (seed: "How Instagram's distributed system handles a simple follow action"): validate
(not self -> ``BadInput``; rate limit 30/min per user -> ``RateLimited``) -> ONE Cypher statement
(``graph.statements.follows``) that checks blocks and existence, creates the FOLLOWS edge (public account)
or a REQUESTED edge (private account), moves both counters only when the edge is new, and writes the
Outbox node -> the outbox relay publishes the event. Following twice is a no-op that answers FOLLOWING.

Events (all keyed by the followee, so one account's follow events stay in order; ``data`` is
``{follower_id, followee_id}``): ``follow.created`` (actor: follower), ``follow.requested`` (actor:
follower), ``follow.accepted`` (actor: the private account approving), ``follow.removed`` (actor: whoever
unfollowed, withdrew or removed).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from events.envelope import Event
from graph.statements import follows as stmts
from services.core import clock
from services.core.errors import BadInput, Forbidden, NotFound
from services.core.records import UserRecord

if TYPE_CHECKING:
    from graph.store import GraphStore
    from services.rate_limits import RateLimitService

FIELD = "userId"  # the input field every follow mutation names in BAD_USER_INPUT


class FollowStatus(StrEnum):
    """Where a follower -> followee pair stands after a mutation."""

    FOLLOWING = "FOLLOWING"
    REQUESTED = "REQUESTED"
    NOT_FOLLOWING = "NOT_FOLLOWING"


@dataclass(frozen=True, slots=True)
class FollowResult:
    """``user``: the other user, as stored after the write (fresh counters); ``status``: the pair's state;
    ``changed``: whether the statement wrote anything."""

    user: UserRecord
    status: FollowStatus
    changed: bool


def _event(type_: str, *, actor_id: str, follower_id: str, followee_id: str) -> dict[str, Any]:
    data = {"follower_id": follower_id, "followee_id": followee_id}
    return Event.new(type_, actor_id=actor_id, subject_id=followee_id, data=data).outbox_props()


def _other(viewer_id: str, other_id: str, verb: str) -> None:
    if viewer_id == other_id:
        raise BadInput(FIELD, f"You cannot {verb} yourself.")


class FollowService:
    """The follow graph's write use cases. Every method is one graph statement (plus the rate limit)."""

    def __init__(self, graph: GraphStore, rate_limits: RateLimitService) -> None:
        self._graph = graph
        self._rate_limits = rate_limits

    async def follow_user(self, viewer_id: str, target_id: str) -> FollowResult:
        """Follow ``target_id``, or request to when the account is private; idempotent.

        Returns status FOLLOWING (public account, or already following) or REQUESTED (private account).
        Raises ``BadInput("userId")`` for oneself, ``RateLimited`` over 30 follows a minute,
        ``NotFound`` for an unknown user, ``Forbidden`` when either user blocks the other.
        """
        _other(viewer_id, target_id, "follow")
        await self._rate_limits.hit("follow", viewer_id)
        params = {
            "viewer_id": viewer_id,
            "target_id": target_id,
            "now": clock.now_ms(),
            "follow_outbox": _event(
                "follow.created", actor_id=viewer_id, follower_id=viewer_id, followee_id=target_id
            ),
            "request_outbox": _event(
                "follow.requested", actor_id=viewer_id, follower_id=viewer_id, followee_id=target_id
            ),
        }
        row = await self._one(stmts.FOLLOW, params)
        if row["status"] == "BLOCKED":
            raise Forbidden("You cannot follow this user.")
        return FollowResult(
            UserRecord.from_row(row["user"]), FollowStatus(row["status"]), bool(row["changed"])
        )

    async def unfollow_user(self, viewer_id: str, target_id: str) -> FollowResult:
        """Stop following ``target_id`` and withdraw a pending request; idempotent (status NOT_FOLLOWING).

        Raises ``BadInput("userId")`` for oneself, ``NotFound`` for an unknown user or one who blocks the
        viewer.
        """
        _other(viewer_id, target_id, "unfollow")
        outbox = _event("follow.removed", actor_id=viewer_id, follower_id=viewer_id, followee_id=target_id)
        return await self._drop(stmts.UNFOLLOW, {"viewer_id": viewer_id, "target_id": target_id, "outbox": outbox})

    async def approve_follow_request(self, viewer_id: str, requester_id: str) -> FollowResult:
        """The viewer (a private account) accepts ``requester_id``'s pending request: they now follow.

        Returns status FOLLOWING (the requester -> viewer pair; also for a retried approval). Raises
        ``BadInput("userId")`` for oneself, ``NotFound`` for an unknown user or when there is no request.
        """
        _other(viewer_id, requester_id, "approve")
        params = {
            "viewer_id": viewer_id,
            "requester_id": requester_id,
            "now": clock.now_ms(),
            "outbox": _event(
                "follow.accepted", actor_id=viewer_id, follower_id=requester_id, followee_id=viewer_id
            ),
        }
        row = await self._one(stmts.APPROVE_REQUEST, params)
        if row["status"] == "NONE":
            raise NotFound("No pending follow request from this user.")
        return FollowResult(UserRecord.from_row(row["user"]), FollowStatus.FOLLOWING, bool(row["changed"]))

    async def reject_follow_request(self, viewer_id: str, requester_id: str) -> FollowResult:
        """The viewer declines ``requester_id``'s pending request (no event); idempotent.

        Returns the requester -> viewer status: NOT_FOLLOWING, or FOLLOWING when they already follow.
        Raises ``BadInput("userId")`` for oneself, ``NotFound`` for an unknown user or one who blocks the
        viewer.
        """
        _other(viewer_id, requester_id, "reject")
        row = await self._one(stmts.REJECT_REQUEST, {"viewer_id": viewer_id, "requester_id": requester_id})
        if row["hidden"]:
            raise NotFound("User not found.")
        return FollowResult(
            UserRecord.from_row(row["user"]), FollowStatus(row["status"]), row["rejected"] > 0
        )

    async def remove_follower(self, viewer_id: str, follower_id: str) -> FollowResult:
        """Remove ``follower_id`` from the viewer's followers (and drop their pending request); idempotent.

        Returns status NOT_FOLLOWING (the follower -> viewer pair). Raises ``BadInput("userId")`` for
        oneself, ``NotFound`` for an unknown user or one who blocks the viewer.
        """
        _other(viewer_id, follower_id, "remove")
        outbox = _event("follow.removed", actor_id=viewer_id, follower_id=follower_id, followee_id=viewer_id)
        params = {"viewer_id": viewer_id, "follower_id": follower_id, "outbox": outbox}
        return await self._drop(stmts.REMOVE_FOLLOWER, params)

    async def _drop(self, stmt: Any, params: dict[str, Any]) -> FollowResult:
        """Run ``UNFOLLOW`` / ``REMOVE_FOLLOWER``: NOT_FOLLOWING, or ``NotFound`` when the other user is
        unknown or blocks the viewer."""
        row = await self._one(stmt, params)
        if row["hidden"]:
            raise NotFound("User not found.")
        changed = row["follows_deleted"] + row["requests_deleted"] > 0
        return FollowResult(UserRecord.from_row(row["user"]), FollowStatus.NOT_FOLLOWING, changed)

    async def _one(self, stmt: Any, params: dict[str, Any]) -> dict[str, Any]:
        rows = await self._graph.write(stmt, params)
        if not rows:
            raise NotFound("User not found.")
        return rows[0]
