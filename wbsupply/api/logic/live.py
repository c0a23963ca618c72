"""One small snapshot of everything that changes on its own: polled by the cabinet pages."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from wbsupply.api.logic.usage import usage_view
from wbsupply.store import SupplyTask, User, WbAccount

LIVE_TASKS = 200


def snapshot(session: Session, user: User) -> dict[str, Any]:
    tasks = session.execute(
        sa.select(col(SupplyTask.id), col(SupplyTask.phase), col(SupplyTask.message))
        .where(col(SupplyTask.owner_id) == user.id)
        .order_by(col(SupplyTask.id).desc())
        .limit(LIVE_TASKS)
    ).all()
    bots = session.execute(
        sa.select(col(WbAccount.id), col(WbAccount.status), col(WbAccount.auth_state), col(WbAccount.last_error)).where(
            col(WbAccount.owner_id) == user.id
        )
    ).all()
    return {
        "tasks": [
            {"id": id_, "phase": phase.value, "phase_label": phase.label, "message": message}
            for id_, phase, message in tasks
        ],
        "bots": [
            {
                "id": id_,
                "status": status.value,
                "status_label": status.label,
                "auth_state": auth_state,
                "last_error": last_error,
            }
            for id_, status, auth_state, last_error in bots
        ],
        "usage": usage_view(session, user),
    }
