"""GraphiQL for ``INSTAGRAPH_ENV=dev``, served entirely by this server: no CDN, so it works offline.

The assets are the UMD builds of the npm packages ``graphiql`` 3, ``react`` 18 and ``react-dom`` 18, pinned by
``tools/graphiql/package.json`` + ``package-lock.json`` and installed with ``npm ci`` (``make graphiql``, a
prerequisite of ``make dev`` and ``make test``). :func:`asset` serves exactly the four files of
:data:`ASSETS` from ``tools/graphiql/node_modules`` under ``/graphiql/<name>`` (nothing else of
``node_modules`` is reachable); :func:`graphiql_page` is the HTML that loads them and points GraphiQL's
fetcher at ``/graphql`` (HTTP) and the same URL over WebSocket (subscriptions, ``graphql-transport-ws``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from starlette.responses import FileResponse, PlainTextResponse, Response

if TYPE_CHECKING:
    from starlette.requests import Request

NODE_MODULES = Path(__file__).resolve().parent.parent / "tools" / "graphiql" / "node_modules"
#: URL name -> (file under node_modules, media type).
ASSETS: dict[str, tuple[str, str]] = {
    "react.production.min.js": ("react/umd/react.production.min.js", "text/javascript"),
    "react-dom.production.min.js": ("react-dom/umd/react-dom.production.min.js", "text/javascript"),
    "graphiql.min.js": ("graphiql/graphiql.min.js", "text/javascript"),
    "graphiql.min.css": ("graphiql/graphiql.min.css", "text/css"),
}
MISSING = "GraphiQL's assets are not installed: run `make graphiql` (npm ci in tools/graphiql)."

PAGE = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>Instagraph GraphiQL</title>
    <link rel="stylesheet" href="/graphiql/graphiql.min.css">
    <style>html, body, #graphiql { height: 100%; margin: 0; }</style>
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL...</div>
    <script src="/graphiql/react.production.min.js"></script>
    <script src="/graphiql/react-dom.production.min.js"></script>
    <script src="/graphiql/graphiql.min.js"></script>
    <script>
      const url = new URL("/graphql", window.location.href);
      const ws = new URL(url);
      ws.protocol = url.protocol === "https:" ? "wss:" : "ws:";
      const fetcher = GraphiQL.createFetcher({ url: url.toString(), subscriptionUrl: ws.toString() });
      const example = "# Sign in with the login mutation, then put\\n" +
        "#   {\\"Authorization\\": \\"Bearer <accessToken>\\"}\\n" +
        "# in the Headers tab below.\\n{ viewer { username } }\\n";
      ReactDOM.createRoot(document.getElementById("graphiql")).render(
        React.createElement(GraphiQL, {
          fetcher,
          defaultQuery: example,
          isHeadersEditorEnabled: true,
          defaultEditorToolsVisibility: true,
          shouldPersistHeaders: false,
        }),
      );
    </script>
  </body>
</html>
"""


def graphiql_page() -> str:
    """The GraphiQL HTML page (its scripts and stylesheet come from :func:`asset`)."""
    return PAGE


async def asset(request: Request) -> Response:
    """``GET /graphiql/{name}``: one of :data:`ASSETS`, cached for a day; 404 for any other name, 503 with
    what to run when ``make graphiql`` has not installed them."""
    entry = ASSETS.get(request.path_params["name"])
    if entry is None:
        return PlainTextResponse("Not Found", status_code=404)
    path = NODE_MODULES / entry[0]
    if not path.is_file():
        return PlainTextResponse(MISSING, status_code=503)
    return FileResponse(path, media_type=entry[1], headers={"Cache-Control": "public, max-age=86400"})
