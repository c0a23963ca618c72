"""What the operator writes into the database (operator.records), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import select as sa_select

from wbsupply.domain.statuses import BotStatus, TaskPhase
from wbsupply.operator import records
from wbsupply.store import SupplyTask, User, WbAccount, session_scope
from wbsupply.testkit import new_phone


def _seller(engine: Engine, email: str = "ivanov@shop.example", **fields: Any) -> int:
    with session_scope(engine) as session:
        user = User(email=email, password_hash="x", plan_limit=25, **fields)
        session.add(user)
        session.flush()
        return user.id or 0


def _bot_spec(seller: str, account: str = "42", paused: bool = False) -> dict[str, Any]:
    return {"seller": seller, "wbAccountRef": {"accountId": account}, "sessionSecretRef": {"name": "s"},
            "tariff": "standard", "paused": paused}


# One deadline for the module: a spec made a second later must not read as an edit of the task.
DEADLINE = (dt.datetime.now(dt.UTC) + dt.timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _task_spec(seller: str, bot: str = "ivanov-42", paused: bool = False, **fields: Any) -> dict[str, Any]:
    return {"seller": seller, "paused": paused, "sellerBotRef": {"name": bot}, "accountId": "42",
            "preorderId": 123456, "warehouses": [507], "boxType": "boxes", "maxCoefficient": 0,
            "deadline": DEADLINE} | fields


def _row(engine: Engine, model: Any, ident: int) -> Any:
    with session_scope(engine) as session:
        row = session.get(model, ident)
        session.expunge(row)
        return row


def test_a_kubectl_bot_gets_its_account_row_and_the_sequence_moves_past_it(engine: Engine) -> None:
    seller = _seller(engine)
    owner = records.admit_bot(engine, "ivanov-42", _bot_spec("IVANOV@shop.example"))
    assert (owner.account_id, owner.owner_id, owner.plan_limit) == (42, seller, 25)
    account = _row(engine, WbAccount, 42)
    assert (account.owner_id, account.cr_name, account.status) == (seller, "ivanov-42", BotStatus.INITIALIZING)
    assert records.admit_bot(engine, "ivanov-42", _bot_spec(str(seller))).changes == ()  # by id: the same seller
    with session_scope(engine) as session:  # the cabinet's next account does not collide with 42
        session.add(WbAccount(owner_id=seller, phone=new_phone()))
    paused = records.admit_bot(engine, "ivanov-42", _bot_spec(str(seller), paused=True))
    assert paused.changes == ("account 42 paused",)
    assert _row(engine, WbAccount, 42).status is BotStatus.STOPPED


@pytest.mark.parametrize(("spec", "reason"), [
    (_bot_spec(""), "NoSeller"),
    (_bot_spec("nobody@shop.example"), "UnknownSeller"),
    (_bot_spec("ivanov@shop.example", account="x"), "InvalidAccount"),
])
def test_a_bot_naming_no_valid_owner_is_refused(engine: Engine, spec: dict[str, Any], reason: str) -> None:
    _seller(engine)
    with pytest.raises(records.Refusal) as refused:
        records.admit_bot(engine, "ivanov-42", spec)
    assert refused.value.reason == reason
    assert refused.value.condition("now")["status"] == "False"


def test_another_sellers_account_or_bot_is_refused(engine: Engine) -> None:
    _seller(engine)
    other = _seller(engine, "petrov@shop.example")
    records.admit_bot(engine, "ivanov-42", _bot_spec("ivanov@shop.example"))
    with pytest.raises(records.Refusal, match="belongs to another seller"):
        records.admit_bot(engine, "petrov-42", _bot_spec(str(other)))
    with pytest.raises(records.Refusal, match="already run by SellerBot ivanov-42"):
        records.admit_bot(engine, "second-42", _bot_spec("ivanov@shop.example"))
    with pytest.raises(records.Refusal) as refused:
        records.admit_task(engine, "t", _task_spec(str(other)))
    assert refused.value.reason == "ForeignBot"


def test_a_kubectl_task_becomes_the_sellers_and_follows_its_pause_and_phases(engine: Engine) -> None:
    seller = _seller(engine)
    assert records.admit_task(engine, "early", _task_spec("ivanov@shop.example")) == (None, [])  # no bot yet
    records.admit_bot(engine, "ivanov-42", _bot_spec("ivanov@shop.example"))
    task_id, changes = records.admit_task(engine, "ivanov-task", _task_spec("ivanov@shop.example"))
    assert task_id is not None and changes == [f"task {task_id} created from SupplyTask ivanov-task"]
    row = _row(engine, SupplyTask, task_id)
    assert (row.owner_id, row.account_id, row.cr_name, row.paused, row.phase) == (
        seller, 42, "ivanov-task", False, TaskPhase.PENDING)
    assert row.spec["preorder_id"] == 123456 and row.claim_key == "preorder:123456"
    assert records.record_task_phase(engine, "ivanov-task", TaskPhase.WATCHING, "Ищем слот")
    assert records.admit_task(engine, "ivanov-task", _task_spec("ivanov@shop.example", paused=True))[1] == [
        f"task {task_id} paused"]
    row = _row(engine, SupplyTask, task_id)
    assert (row.phase, row.paused) == (TaskPhase.PENDING, True)
    assert records.record_task_phase(engine, "ivanov-task", TaskPhase.PENDING, "Ожидает запуска") == []
    assert records.record_task_phase(engine, "ivanov-task", TaskPhase.EXPIRED, "Срок задачи истёк")
    assert _row(engine, SupplyTask, task_id).phase is TaskPhase.EXPIRED
    assert records.forget_task(engine, "ivanov-task") == []  # final: stays as it is


def test_a_deleted_supplytask_cancels_its_open_task(engine: Engine) -> None:
    _seller(engine)
    records.admit_bot(engine, "bot-42", _bot_spec("ivanov@shop.example"))
    task_id, _ = records.admit_task(engine, "ivanov-task", _task_spec("ivanov@shop.example", bot="bot-42"))
    assert _row(engine, WbAccount, 42).cr_name is None  # the API's own name: nothing to remember
    assert records.forget_task(engine, "ivanov-task") == [f"task {task_id} cancelled"]
    row = _row(engine, SupplyTask, task_id)
    assert (row.phase, row.message) == (TaskPhase.CANCELLED, records.DELETED_MESSAGE)


def test_observed_bot_phases_reach_the_row_but_a_blocks_pause_does_not(engine: Engine) -> None:
    seller = _seller(engine)
    records.admit_bot(engine, "ivanov-42", _bot_spec("ivanov@shop.example"))
    assert records.record_bot_phase(engine, "ivanov-42", "ERROR", "no heartbeat") == [
        "account 42 INITIALIZING -> ERROR"]
    assert (_row(engine, WbAccount, 42).status, _row(engine, WbAccount, 42).last_error) == (BotStatus.ERROR,
                                                                                          "no heartbeat")
    with session_scope(engine) as session:
        user = session.get(User, seller)
        assert user is not None
        user.active = False
    assert records.record_bot_phase(engine, "ivanov-42", "STOPPED") == []
    assert _row(engine, WbAccount, 42).status is BotStatus.ERROR  # unblocking resumes what ran before
    assert records.admit_bot(engine, "ivanov-42", _bot_spec("ivanov@shop.example", paused=True)).changes == ()


def test_a_kubectl_racing_task_claims_its_racers_drafts_and_follows_their_edits(engine: Engine) -> None:
    from sqlmodel import select

    from wbsupply.store import TaskClaim

    _seller(engine)
    records.admit_bot(engine, "ivanov-42", _bot_spec("ivanov@shop.example"))
    records.admit_bot(engine, "ivanov-43", _bot_spec("ivanov@shop.example", account="43"))

    def claims() -> list[tuple[int, str, int]]:
        with session_scope(engine) as session:
            return sorted((c.account_id, c.claim_key, c.task_id) for c in session.exec(select(TaskClaim)).all())

    task_id, _ = records.admit_task(engine, "race", _task_spec("ivanov@shop.example", racers={"43": "R-1"}))
    assert task_id is not None
    assert claims() == [(42, "preorder:123456", task_id), (43, "draft:r-1", task_id)]
    records.admit_task(engine, "race", _task_spec("ivanov@shop.example", racers={"43": "R-2"}))
    assert claims() == [(42, "preorder:123456", task_id), (43, "draft:r-2", task_id)]


def test_a_kubectl_task_on_a_draft_another_task_holds_is_refused_with_a_condition(engine: Engine) -> None:
    """The cabinet's 409 in the cluster: the second SupplyTask on one draft gets DraftClaimed, and no row."""
    _seller(engine)
    records.admit_bot(engine, "ivanov-42", _bot_spec("ivanov@shop.example"))
    records.admit_bot(engine, "ivanov-43", _bot_spec("ivanov@shop.example", account="43"))
    first, _ = records.admit_task(engine, "first", _task_spec("ivanov@shop.example", racers={"43": "R-1"}))
    assert first is not None
    with pytest.raises(records.Refusal) as refused:  # its own preorder is the first task's
        records.admit_task(engine, "second", _task_spec("ivanov@shop.example"))
    assert refused.value.reason == "DraftClaimed" and f"task {first}" in refused.value.message
    with pytest.raises(records.Refusal) as refused:  # the first task's racer draft, as this task's own
        records.admit_task(engine, "third", _task_spec("ivanov@shop.example", bot="ivanov-43", accountId="43",
                                                       preorderId=None, draftId="R-1"))
    assert refused.value.reason == "DraftClaimed"
    with session_scope(engine) as session:
        assert [t.id for t in session.exec(sa_select(SupplyTask)).all()] == [first]
    again, _ = records.admit_task(engine, "first", _task_spec("ivanov@shop.example", racers={"43": "R-1"}))
    assert again == first  # its own claims do not refuse the task that holds them
