"""Where the tests find the project and the shared real datasets (``../shared/datasets`` beside the project)."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DATASETS = PROJECT_ROOT.parent / "shared" / "datasets"
IMAGES = DATASETS / "images"
POSTS_DIR = DATASETS / "instagram-posts"
