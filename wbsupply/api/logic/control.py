"""Where a new supply task goes: the control plane.

Embedded runtime: the ``supply_tasks`` row is the control-plane object (the local supervisor reads it).
The cluster swaps :func:`submit_task` for one that also writes a ``SupplyTask`` custom resource; nothing
else in the API creates tasks.
"""

from __future__ import annotations

from sqlmodel import Session

from wbsupply.api.logic.users import plan_of
from wbsupply.domain.tasks import SupplyTaskSpec
from wbsupply.store import SupplyTask, User, WbAccount


def submit_task(session: Session, owner: User, account: WbAccount, spec: SupplyTaskSpec) -> SupplyTask:
    plan = plan_of(owner)
    task = SupplyTask(
        owner_id=owner.id or 0,
        account_id=account.id or 0,
        spec=spec.model_dump(mode="json"),
        deadline=spec.deadline,
        plan_rank=plan.rank if plan else 0,
    )
    session.add(task)
    session.commit()
    return task
