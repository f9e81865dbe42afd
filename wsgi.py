"""For gunicorn: ``gunicorn wsgi:app`` (``notary serve`` uses ``notary.app:create_app()``)."""

from notary.app import create_app

app = create_app()
