"""Two apps as their authors wrote them (no import of dashboard), written into a test's working
directory so the host imports them from there, as gunicorn would."""

FLASK_APP = '''
import os
from flask import Flask, jsonify
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import text

db = SQLAlchemy()


def create_app():
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["APP_DB_URL"]
    app.config["SQLALCHEMY_BINDS"] = {"reports": os.environ["APP_DB_URL"]}
    db.init_app(app)
    with app.app_context():
        db.session.execute(text("SELECT 1"))  # apps often touch the database at start

    @app.get("/engine")
    def engine():
        pool = db.engine.pool
        connection = db.session.connection()
        params = connection.connection.dbapi_connection.info.get_parameters()
        return jsonify(pool_size=pool.size(), pool_timeout=pool.timeout(),
                       statement_timeout=connection.execute(
                           text("SHOW statement_timeout")).scalar(),
                       connect_timeout=params.get("connect_timeout"),
                       binds=len(db.engines))

    @app.get("/items")
    def items():
        return jsonify(items=db.session.execute(text("SELECT 1 AS one")).scalar())

    @app.get("/sleep")
    def sleep():
        db.session.execute(text("SELECT pg_sleep(5)"))
        return jsonify(slept=True)

    @app.get("/hold")
    def hold():
        db.session.execute(text("SELECT pg_sleep(1.3)"))
        return jsonify(held=True)

    return app
'''

PLAIN_APP = '''
import json
import os
from sqlalchemy import create_engine, text

engine = create_engine(os.environ["APP_DB_URL"])


def app(environ, start_response):
    try:
        with engine.connect() as connection:
            value = connection.execute(text("SELECT 1")).scalar()
    except Exception:
        start_response("500 Internal Server Error", [("Content-Type", "text/html")])
        return [b"<h1>Internal Server Error</h1>"]
    body = json.dumps({"value": value, "pool_size": engine.pool.size()}).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


def make(host):
    return app


def make_without_host():
    return app
'''
