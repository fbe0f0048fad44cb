"""``instagraph search reindex`` (and the last step of ``instagraph seed``): rebuild the search indexes from the
graph with a progress bar, and count the last week's hashtags into the trending counters.

The rebuild is ``services.search_indexing.SearchIndexer.reindex``: every user and PUBLISHED post rewritten in
pages of 1,000, then what it did not rewrite pruned. With Tantivy it takes the index's writer lock one page at a
time, so a running ``indexer`` worker keeps working between pages. The hashtag recount
(``HashtagService.recount_recent``) is idempotent: posts the ``hashtags`` worker counted already are skipped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from runtime.container import build_services
from runtime.resources import open_resources

if TYPE_CHECKING:
    from rich.console import Console

    from runtime.settings import Settings
    from services.core.container import Services
    from services.search_indexing import ReindexResult


async def reindex(services: Services, console: Console) -> ReindexResult:
    """Rebuild both search indexes with one progress bar per index, then recount the trending hashtags;
    prints a summary (documents/s). Raises ``SearchUnavailable``, graph and Redis errors."""
    progress = Progress(
        TextColumn("{task.description:<12}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=False,
    )  # fmt: skip
    tasks: dict[str, object] = {}

    def on_progress(name: str, done: int, total: int) -> None:
        if name not in tasks:
            tasks[name] = progress.add_task(f"index {name}", total=total)
        progress.update(tasks[name], completed=done, total=total)  # type: ignore[arg-type]

    with progress:
        result = await services.search_indexer.reindex(on_progress)
    documents = result.users + result.posts
    rate = documents / result.seconds if result.seconds > 0 else 0.0
    pruned = [n for n in (result.pruned_users, result.pruned_posts) if n >= 0]
    console.print(
        f"search: {result.users:,} users and {result.posts:,} posts indexed in {result.seconds:.1f} s "
        f"({rate:,.0f} documents/s)" + (f", {sum(pruned):,} stale documents removed" if pruned else "")
    )
    counted = await services.hashtags.recount_recent()
    console.print(f"trending: {counted:,} recent tagged posts counted")
    return result


async def run_reindex(settings: Settings, console: Console) -> ReindexResult:
    """``instagraph search reindex``: open the deployment's clients, prepare the indexes, :func:`reindex`."""
    async with open_resources(settings) as resources, build_services(resources) as services:
        await resources.search.prepare()
        return await reindex(services, console)
