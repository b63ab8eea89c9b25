"""Page weight and rendering speed of the public site.

Prints the bytes of HTML, CSS and JS the home page needs (raw and gzipped) and how many
requests per second the app answers for a few pages through a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import gzip
import logging
import re
import tempfile
import threading
import time
import urllib.request

from flask_migrate import upgrade
from werkzeug.serving import make_server

from gvisite import create_app

PAGES = ["/sv/", "/sv/om-gvi", "/ar/gvi-i-jarfalla", "/sv/tillganglighet", "/sitemap.xml"]
SECONDS_PER_PAGE = 3.0


def fetch(url: str) -> bytes:
    """GET a URL and return the body."""
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def main() -> None:
    """Serve the app on a free port and measure."""
    instance = tempfile.mkdtemp(prefix="gvisite-bench-")
    app = create_app({"INSTANCE_PATH": instance, "SITE_URL": "http://127.0.0.1"})
    with app.app_context():
        upgrade()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        html = fetch(f"{base}/sv/")
        assets = re.findall(rb'(?:href|src)="(/static/[^"]+)"', html)
        sizes = {"html": [html]}
        for asset in assets:
            kind = "css" if b".css" in asset else "js"
            sizes.setdefault(kind, []).append(fetch(base + asset.decode()))
        print("home page weight (bytes, raw / gzip):")
        total_raw = total_gz = 0
        for kind, bodies in sizes.items():
            raw = sum(len(b) for b in bodies)
            gz = sum(len(gzip.compress(b)) for b in bodies)
            total_raw, total_gz = total_raw + raw, total_gz + gz
            print(f"  {kind:5} {raw:7} / {gz:6}")
        print(f"  total {total_raw:7} / {total_gz:6}")
        print(f"requests per second, one client, {SECONDS_PER_PAGE:.0f} s per page:")
        for page in PAGES:
            count, start = 0, time.perf_counter()
            while time.perf_counter() - start < SECONDS_PER_PAGE:
                fetch(base + page)
                count += 1
            elapsed = time.perf_counter() - start
            print(f"  {page:28} {count / elapsed:7.0f} req/s  {1000 * elapsed / count:6.2f} ms")
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
