"""``?options=`` in a PostgreSQL URL is merged with the statement timeout, not replaced by it."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from dashboard.config.sections import DatabaseSection
from dashboard.db.engine import build_engine


def test_search_path_from_the_url_survives_beside_the_statement_timeout(pg_url: str) -> None:
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("CREATE SCHEMA myschema"))
    admin.dispose()
    database = DatabaseSection(url=f"{pg_url}?options=-csearch_path%3Dmyschema",
                               call_timeout_ms=4321)
    engine = build_engine(database)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SHOW search_path")).scalar_one() == "myschema"
            assert connection.execute(text("SHOW statement_timeout")).scalar_one() == "4321ms"
            connection.execute(text("CREATE TABLE made_here (id int)"))
            assert connection.execute(text(
                "SELECT table_schema FROM information_schema.tables "
                "WHERE table_name = 'made_here'")).scalar_one() == "myschema"
    finally:
        engine.dispose()


def test_without_options_the_statement_timeout_is_still_set(pg_url: str) -> None:
    engine = build_engine(DatabaseSection(url=pg_url, call_timeout_ms=1500))
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SHOW statement_timeout")).scalar_one() == "1500ms"
    finally:
        engine.dispose()
