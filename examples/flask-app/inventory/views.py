"""The routes: an HTML overview and a small JSON API."""

from flask import Blueprint, abort, jsonify, render_template, request
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from inventory.models import AuditEvent, Movement, Part, db

bp = Blueprint("inventory", __name__)


@bp.get("/")
def index():
    parts = db.session.scalars(select(Part).order_by(Part.number)).all()
    return render_template("index.html", parts=parts)


@bp.get("/api/parts")
def list_parts():
    query = select(Part).order_by(Part.number)
    if "location" in request.args:
        query = query.where(Part.location == request.args["location"])
    return jsonify([part.to_dict() for part in db.session.scalars(query)])


@bp.get("/api/parts/<int:part_id>")
def get_part(part_id):
    part = db.session.get(Part, part_id)
    if part is None:
        abort(404)
    return jsonify(part.to_dict())


@bp.get("/api/parts/<int:part_id>/ledger")
def ledger(part_id):
    """Every movement of a part with the running balance after it."""
    later = aliased(Movement)
    balance = (select(func.sum(later.quantity))
               .where(later.part_id == Movement.part_id, later.id <= Movement.id)
               .scalar_subquery())
    rows = db.session.execute(
        select(Movement.id, Movement.quantity, Movement.note, balance.label("balance"))
        .where(Movement.part_id == part_id).order_by(Movement.id))
    return jsonify([{"id": row.id, "quantity": row.quantity, "note": row.note,
                     "balance": row.balance} for row in rows])


@bp.post("/api/transfers")
def transfer():
    """Move stock from one part's bin to another's, in one transaction."""
    data = request.get_json()
    quantity = int(data["quantity"])
    source = db.session.get(Part, data["from_part"], with_for_update=True)
    target = db.session.get(Part, data["to_part"], with_for_update=True)
    if source is None or target is None:
        abort(404)
    source.stock -= quantity
    target.stock += quantity
    db.session.add_all([
        Movement(part_id=source.id, quantity=-quantity, note=f"to {target.number}"),
        Movement(part_id=target.id, quantity=quantity, note=f"from {source.number}"),
    ])
    db.session.add(AuditEvent(action="transfer",
                              detail=f"{quantity} from {source.number} to {target.number}"))
    db.session.commit()
    return jsonify(source=source.to_dict(), target=target.to_dict()), 201


@bp.get("/api/audit")
def audit():
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(50))
    return jsonify([{"id": e.id, "action": e.action, "detail": e.detail,
                     "at": e.at.isoformat()} for e in events])
