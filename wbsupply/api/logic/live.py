"""One small snapshot of everything that changes on its own: polled by the cabinet pages."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from wbsupply.api.logic.tasks import phase_label
from wbsupply.api.logic.usage import usage_view
from wbsupply.notify import feed
from wbsupply.store import SupplyTask, User, WbAccount
from wbsupply.store.auth import WbAuthRequest

LIVE_TASKS = 200


def snapshot(session: Session, user: User) -> dict[str, Any]:
    tasks = session.execute(
        sa.select(col(SupplyTask.id), col(SupplyTask.phase), col(SupplyTask.message), col(SupplyTask.paused),
                  col(SupplyTask.moves))
        .where(col(SupplyTask.owner_id) == user.id)
        .order_by(col(SupplyTask.id).desc())
        .limit(LIVE_TASKS)
    ).all()
    bots = session.execute(
        sa.select(col(WbAccount.id), col(WbAccount.status), col(WbAccount.auth_state), col(WbAccount.last_error)).where(
            col(WbAccount.owner_id) == user.id
        )
    ).all()
    account_ids = [row[0] for row in bots]
    requests: dict[int, str] = {}
    if account_ids:
        for account_id, request_id, status in session.execute(
            sa.select(col(WbAuthRequest.account_id), col(WbAuthRequest.id), col(WbAuthRequest.status))
            .where(col(WbAuthRequest.account_id).in_(account_ids))
            .order_by(col(WbAuthRequest.id).desc()).limit(10 * len(account_ids))
        ).all():
            requests.setdefault(account_id, f"{request_id}:{status.value}")
    return {
        "tasks": [
            {"id": id_, "phase": phase.value, "phase_label": phase_label(phase, paused), "message": message,
             "paused": paused, "moves": moves}
            for id_, phase, message, paused, moves in tasks
        ],
        "bots": [
            {
                "id": id_,
                "status": status.value,
                "status_label": status.label,
                "auth_state": auth_state,
                "last_error": last_error,
                # The login page redraws itself when the bot answered the seller's last step (e.g. a wrong code).
                "auth_request": requests.get(id_, ""),
            }
            for id_, status, auth_state, last_error in bots
        ],
        "usage": usage_view(session, user),
        "unread": feed.unread_count(session, user.id or 0, feed.seen_id(user.notification_prefs)),
    }
