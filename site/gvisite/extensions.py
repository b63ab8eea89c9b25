"""Extension objects, created once and bound to an app with `init_app`."""

from flask_babel import Babel

babel = Babel()
