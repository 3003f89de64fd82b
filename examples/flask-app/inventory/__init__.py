"""Inventory: a small Flask + Flask-SQLAlchemy app (parts, stock movements, an audit trail).

Configured from the environment, as usual for a Flask app:

* ``INVENTORY_DATABASE_URL``: the parts and movements (default: a local PostgreSQL database);
* ``INVENTORY_AUDIT_DATABASE_URL``: the audit trail, a second bind (default: another one).
"""

import os

from flask import Flask

from inventory.models import db

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/inventory"


def create_app():
    app = Flask(__name__)
    main_url = os.environ.get("INVENTORY_DATABASE_URL", DEFAULT_URL)
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI=main_url,
        SQLALCHEMY_BINDS={"audit": os.environ.get("INVENTORY_AUDIT_DATABASE_URL",
                                                  main_url + "_audit")},
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 10, "pool_recycle": 3600},
    )
    db.init_app(app)

    from inventory import commands, views

    app.register_blueprint(views.bp)
    commands.register(app)
    return app
