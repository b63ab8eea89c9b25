"""Extension objects, created once and bound to an app with `init_app`."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base for the site's tables."""


babel = Babel()
db = SQLAlchemy(model_class=Base)
migrate = Migrate()
# No default limits: only the form submissions are limited, by the rule in the config.
limiter = Limiter(key_func=get_remote_address, default_limits=[])
