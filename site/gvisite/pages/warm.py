"""The warm-up: `python -m gvisite.pages.warm CONTENT_DIR CACHE_FOLDER` fills a render cache.

Started by a server that found many pages missing from its render cache (body.py): it loads the
content the way `flask content check` does, which renders every missing page under the cache's
lock, in one process per idle core, and keeps them. A second warm-up (the other gunicorn
worker's) waits for the lock, then finds them kept and renders nothing.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from .cache import RenderCache
from .load import load_site


def main(argv: list[str]) -> int:
    """Fill the render cache at argv[2] with the pages of the content at argv[1]."""
    logging.basicConfig(level=logging.WARNING, format="render warm-up: %(message)s")
    content_dir, folder = Path(argv[1]), Path(argv[2])
    _site, errors = load_site(content_dir, RenderCache(folder))
    for error in errors:  # the server has said so already; pages without errors are kept
        logging.warning("%s", error)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
