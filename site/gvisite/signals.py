"""The site's own signals (blinker, as Flask's): one sender, any number of listeners per app.

`public_pages_changed` is sent, with the app as sender, once a saved change alters what a
public page shows (staff published or resolved a problem, so the statement changed; or a
published handling figure changed: statement.py watches for both, handling_snapshot.py also
sends it when the day changes the figures). Listeners subscribe for their own app in their
`init_app`: the pre-built pages drop what they kept (prebuilt/), the formats refresher
rebuilds the files that went stale (formats/refresh.py). A new listener is one `connect`; no
sender changes.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

public_pages_changed = _signals.signal("public-pages-changed")
