# The Instagraph image: the API (`instagraph serve`) and every worker (`instagraph worker NAME`) run from it.
# Production dependencies only (no `embedded` extra: compose runs the real Neo4j, Redis, Kafka, Meilisearch
# and SeaweedFS).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 instagraph \
    && mkdir -p /var/lib/instagraph \
    && chown instagraph:instagraph /var/lib/instagraph

WORKDIR /app
COPY pyproject.toml README.md ./
COPY schema ./schema
COPY resolvers ./resolvers
COPY services ./services
COPY backends ./backends
COPY graph ./graph
COPY cache ./cache
COPY search ./search
COPY media ./media
COPY events ./events
COPY workers ./workers
COPY runtime ./runtime
COPY server ./server
COPY devstack ./devstack
COPY seed ./seed
RUN pip install . && rm -rf build

USER instagraph
EXPOSE 8000
CMD ["instagraph", "serve", "--host", "0.0.0.0", "--port", "8000"]
