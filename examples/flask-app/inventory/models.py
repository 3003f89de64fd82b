"""The tables: parts and their stock movements, and an audit trail in a database of its own."""

from datetime import UTC, datetime

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

db = SQLAlchemy()


def _now():
    return datetime.now(UTC)


class Part(db.Model):
    __tablename__ = "parts"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    location: Mapped[str] = mapped_column(String(40))
    stock: Mapped[int] = mapped_column(default=0)

    def to_dict(self):
        return {"id": self.id, "number": self.number, "name": self.name,
                "location": self.location, "stock": self.stock}


class Movement(db.Model):
    __tablename__ = "movements"

    id: Mapped[int] = mapped_column(primary_key=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"), index=True)
    quantity: Mapped[int]
    note: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[datetime] = mapped_column(default=_now)


class AuditEvent(db.Model):
    __bind_key__ = "audit"
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(String(400))
    at: Mapped[datetime] = mapped_column(default=_now)
