"""``flask --app inventory init-db``: create the tables and a few parts."""

import click

from inventory.models import Movement, Part, db

SAMPLE = [("P-100", "Bearing 6204", "A1", 120), ("P-200", "Shaft 20 mm", "A1", 40),
          ("P-300", "Seal kit", "B2", 75)]


def register(app):
    @app.cli.command("init-db")
    @click.option("--movements", default=0, help="Extra movements of the first part.")
    def init_db(movements):
        db.create_all()
        if db.session.query(Part).count() == 0:
            for number, name, location, stock in SAMPLE:
                db.session.add(Part(number=number, name=name, location=location, stock=stock))
            db.session.flush()
        first = db.session.query(Part).order_by(Part.id).first()
        db.session.add_all(Movement(part_id=first.id, quantity=1, note="count")
                           for _ in range(movements))
        db.session.commit()
        click.echo("initialised")
