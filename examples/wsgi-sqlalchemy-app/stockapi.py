"""stockapi: stock levels per SKU as a plain WSGI app (Werkzeug, SQLAlchemy Core).

The database is ``DATABASE_URL`` below (or ``STOCKAPI_DATABASE_URL`` from the environment).
``python stockapi.py init-db`` creates the tables and a few SKUs; any WSGI server serves
``stockapi:app``.
"""

import json
import os
import sys

from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, func, select, update
from werkzeug.exceptions import HTTPException, InternalServerError, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

DATABASE_URL = os.environ.get("STOCKAPI_DATABASE_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/stock")

engine = create_engine(DATABASE_URL, pool_size=20, max_overflow=20, pool_timeout=30)
metadata = MetaData()
levels = Table("levels", metadata,
               Column("sku", String(40), primary_key=True),
               Column("warehouse", String(20), nullable=False),
               Column("quantity", Integer, nullable=False))
moves = Table("moves", metadata,
              Column("id", Integer, primary_key=True),
              Column("sku", String(40), nullable=False, index=True),
              Column("quantity", Integer, nullable=False))

urls = Map([
    Rule("/", endpoint="index"),
    Rule("/api/levels", endpoint="all_levels"),
    Rule("/api/levels/<sku>", endpoint="one_level"),
    Rule("/api/levels/<sku>/history", endpoint="history"),
    Rule("/api/moves", endpoint="move", methods=["POST"]),
])


def as_json(data, status=200):
    return Response(json.dumps(data), status=status, mimetype="application/json")


def index(request):
    with engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(levels)).scalar()
    return Response(f"<!doctype html><title>stockapi</title><h1>{count} SKUs</h1>",
                    mimetype="text/html")


def all_levels(request):
    query = select(levels).order_by(levels.c.sku)
    if "warehouse" in request.args:
        query = query.where(levels.c.warehouse == request.args["warehouse"])
    with engine.connect() as connection:
        return as_json([dict(row._mapping) for row in connection.execute(query)])


def one_level(request, sku):
    with engine.connect() as connection:
        row = connection.execute(select(levels).where(levels.c.sku == sku)).first()
    if row is None:
        raise NotFound()
    return as_json(dict(row._mapping))


def history(request, sku):
    """Each move of a SKU with the running total after it."""
    later = moves.alias("later")
    total = (select(func.sum(later.c.quantity))
             .where(later.c.sku == moves.c.sku, later.c.id <= moves.c.id).scalar_subquery())
    query = select(moves.c.id, moves.c.quantity, total.label("total")).where(
        moves.c.sku == sku).order_by(moves.c.id)
    with engine.connect() as connection:
        return as_json([dict(row._mapping) for row in connection.execute(query)])


def move(request):
    """Move quantity from one SKU to another (a re-labelling), in one transaction."""
    data = json.loads(request.get_data() or b"{}")
    quantity = int(data["quantity"])
    with engine.begin() as connection:
        for sku, delta in ((data["from"], -quantity), (data["to"], quantity)):
            connection.execute(update(levels).where(levels.c.sku == sku)
                               .values(quantity=levels.c.quantity + delta))
            connection.execute(moves.insert().values(sku=sku, quantity=delta))
    return as_json({"moved": quantity}, status=201)


VIEWS = {"index": index, "all_levels": all_levels, "one_level": one_level,
         "history": history, "move": move}


def app(environ, start_response):
    request = Request(environ)
    try:
        endpoint, arguments = urls.bind_to_environ(environ).match()
        response = VIEWS[endpoint](request, **arguments)
    except HTTPException as error:
        response = error
    except Exception:
        response = InternalServerError()
    return response(environ, start_response)


def init_db(extra_moves=0):
    metadata.create_all(engine)
    with engine.begin() as connection:
        if not connection.execute(select(func.count()).select_from(levels)).scalar():
            connection.execute(levels.insert(), [
                {"sku": "SKU-1", "warehouse": "north", "quantity": 500},
                {"sku": "SKU-2", "warehouse": "north", "quantity": 80},
                {"sku": "SKU-3", "warehouse": "south", "quantity": 12},
            ])
        if extra_moves:
            connection.execute(moves.insert(), [{"sku": "SKU-1", "quantity": 1}] * extra_moves)


if __name__ == "__main__":
    if sys.argv[1:2] == ["init-db"]:
        init_db(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
        print("initialised")
