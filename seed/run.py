"""``instagraph seed``: load the real datasets through the services.

1. The SNAP ego-Facebook graph: users ``fb_<n>`` and two follows per friendship (seed/snap_graph.py).
2. Posts from the Instagram CSVs with the real photos, through the presigned-POST upload flow and the media
   pipeline (seed/posts.py).
3. Likes and comments from each author's followers (seed/engagement.py).
4. The notifications of that activity: FOLLOW, LIKE and COMMENT groups (seed/notifications.py).
5. Live stories of ``fb_107`` and 30 of the users it follows, some viewed (seed/stories.py).
6. The search indexes rebuilt from the graph and the week's hashtags counted for trending (seed/search.py).
Every step is idempotent: a second run changes nothing. Home feeds are filled by the fan-out worker from the
``post.published`` events (when workers run), and in any case rebuilt from the graph on first read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from graph.migrations import migrate
from runtime.container import build_services
from runtime.resources import open_resources
from seed.engagement import seed_engagement
from seed.notifications import seed_notifications
from seed.posts import seed_posts
from seed.search import reindex
from seed.snap_graph import import_snap_graph
from seed.stories import seed_stories
from services.core.clock import now_ms
from services.core.passwords import Passwords

if TYPE_CHECKING:
    from rich.console import Console

    from runtime.settings import Settings


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description:<12}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=False,
    )


async def run_seed(settings: Settings, console: Console) -> None:
    """Seed the graph, posts (with photos) and engagement for ``settings``' deployment; prints a summary.

    Raises ``OSError`` when a dataset file is missing, ``GraphError`` / botocore errors when a backend fails.
    """
    async with open_resources(settings) as resources, build_services(resources) as services:
        await migrate(resources.graph, now_ms=now_ms())
        password_hash = await Passwords().hash(settings.seed_password)
        with _progress(console) as progress:
            graph = await import_snap_graph(
                resources.graph, settings.seed_graph_path, password_hash, progress=progress
            )
        console.print(
            f"graph: {graph.users:,} users, {graph.follows:,} follows "
            f"({graph.users_created:,} users and {graph.follows_created:,} follows new) in {graph.seconds:.1f} s"
        )
        with _progress(console) as progress:
            task = progress.add_task("posts", total=None)
            posts = await seed_posts(
                services.posts, services.media, resources.graph,
                posts_dir=settings.seed_posts_dir, images_dir=settings.seed_images_dir,
                on_progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
        console.print(
            f"posts: {posts.rows} rows, {posts.created} created, {posts.published} published, "
            f"{posts.failed} failed, {posts.skipped} already there, in {posts.seconds:.1f} s"
        )
        with _progress(console) as progress:
            task = progress.add_task("engagement", total=None)
            engagement = await seed_engagement(
                resources.graph, services.engagement.counters,
                on_progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
        console.print(
            f"engagement: {engagement.likes:,} likes and {engagement.comments:,} comments "
            f"on {engagement.posts} posts"
        )
        with _progress(console) as progress:
            task = progress.add_task("notifications", total=None)
            notified = await seed_notifications(
                resources.graph, on_progress=lambda done, total: progress.update(task, completed=done, total=total)
            )
        console.print(
            f"notifications: {notified.follows:,} FOLLOW, {notified.likes:,} LIKE and {notified.comments:,} "
            f"COMMENT groups with {notified.actors:,} actors"
        )
        with _progress(console) as progress:
            task = progress.add_task("stories", total=None)
            stories = await seed_stories(
                services.stories, services.story_media, services.story_views, services.close_friends,
                resources.graph, images_dir=settings.seed_images_dir,
                on_progress=lambda done, total: progress.update(task, completed=done, total=total),
            )  # fmt: skip
        console.print(
            f"stories: {stories.planned} planned, {stories.created} created, {stories.kept} still live, "
            f"{stories.published} published, {stories.failed} failed, {stories.views} views, "
            f"in {stories.seconds:.1f} s"
        )
        await resources.search.prepare()
        await reindex(services, console)
