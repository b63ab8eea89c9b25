"""WSGI entry point: `gunicorn wsgi:app`."""

from gvisite import create_app

app = create_app()
