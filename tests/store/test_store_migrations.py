"""Migrations build the schema the models describe, on both databases, and ship inside the package."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from wbsupply.store import current_revision, head_revision, make_engine, metadata, upgrade
from wbsupply.store.engine import alembic_config, downgrade

REPO = Path(__file__).resolve().parents[2]


def test_migration_head_matches_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_fresh_database_is_at_head(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()


def test_upgrade_downgrade_upgrade(blank_database_url: str) -> None:
    upgrade(blank_database_url)
    engine = make_engine(blank_database_url)
    try:
        assert set(inspect(engine).get_table_names()) == set(metadata.tables) | {"alembic_version"}
        downgrade(blank_database_url, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(blank_database_url)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_concurrent_upgrades_of_a_blank_database_both_succeed(blank_database_url: str) -> None:
    start = threading.Barrier(2)

    def run(_: int) -> None:
        start.wait()
        upgrade(blank_database_url)

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(run, range(2)))
    engine = make_engine(blank_database_url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_history_is_linear() -> None:
    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1


def test_migrations_ship_in_the_built_package(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    shutil.copy(REPO / "pyproject.toml", source)
    (source / "README.md").write_text("")
    shutil.copytree(REPO / "wbsupply", source / "wbsupply", ignore=shutil.ignore_patterns("__pycache__"))
    build = tmp_path / "build"
    subprocess.run(
        [sys.executable, "-c", "import setuptools; setuptools.setup()", "-q", "build", "--build-lib", str(build)],
        cwd=source,
        check=True,
        capture_output=True,
    )
    shipped = build / "wbsupply" / "store" / "migrations"
    expected = {p.relative_to(REPO / "wbsupply/store/migrations") for p in _migration_files(REPO)}
    assert expected and {p.relative_to(shipped) for p in _migration_files(build)} == expected


def _migration_files(root: Path) -> list[Path]:
    folder = root / "wbsupply" / "store" / "migrations"
    return [p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts]


def test_0004_existing_tasks_claim_their_draft_or_preorder_oldest_first(blank_database_url: str) -> None:
    import json

    from sqlalchemy import text

    upgrade(blank_database_url, "0003")
    engine = make_engine(blank_database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO users (id, email, role, active, plan_limit, notification_prefs, "
                                    "password_hash, created_at) VALUES (1, 'a@b.c', 'seller', true, 5, '{}', 'x', "
                                    "CURRENT_TIMESTAMP)"))
            connection.execute(text("INSERT INTO wb_accounts (id, owner_id, phone, label, status, auth_attempts, "
                                    "restart_count, auth_state, auth_prompt, created_at, updated_at) VALUES "
                                    "(1, 1, '+79001112233', '', 'ACTIVE', 0, 0, 'idle', '{}', CURRENT_TIMESTAMP, "
                                    "CURRENT_TIMESTAMP)"))
            specs = [("Booked", {"draft_id": "D-1"}), ("Watching", {"draft_id": "d-1"}),
                     ("Cancelled", {"preorder_id": 7}), ("Watching", {"preorder_id": 7}),
                     ("Watching", {"draft_id": "d-2", "mode": "notify"})]
            for number, (phase, spec) in enumerate(specs, start=1):
                connection.execute(text(
                    "INSERT INTO supply_tasks (id, owner_id, account_id, phase, plan_rank, attempts, spec, "
                    "created_at, updated_at) VALUES (:id, 1, 1, :phase, 0, 0, :spec, CURRENT_TIMESTAMP, "
                    "CURRENT_TIMESTAMP)"), {"id": number, "phase": phase, "spec": json.dumps(spec)})
        upgrade(blank_database_url)
        with engine.connect() as connection:
            claims = dict(connection.execute(text("SELECT id, claim_key FROM supply_tasks ORDER BY id")).all())
        assert claims == {1: "draft:d-1", 2: None, 3: None, 4: "preorder:7", 5: None}
    finally:
        engine.dispose()


def test_0013_existing_tasks_claim_their_racers_drafts_too_oldest_first(blank_database_url: str) -> None:
    import json

    from sqlalchemy import text

    before = ScriptDirectory.from_config(alembic_config()).get_revision("0013").down_revision
    upgrade(blank_database_url, str(before))
    engine = make_engine(blank_database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO users (id, email, role, active, plan_limit, notification_prefs, "
                                    "password_hash, created_at) VALUES (1, 'a@b.c', 'seller', true, 5, '{}', 'x', "
                                    "CURRENT_TIMESTAMP)"))
            for account in (1, 2):
                connection.execute(text(
                    "INSERT INTO wb_accounts (id, owner_id, phone, label, status, auth_attempts, restart_count, "
                    "auth_state, auth_prompt, created_at, updated_at) VALUES (:id, 1, :phone, '', 'ACTIVE', 0, 0, "
                    "'idle', '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                    {"id": account, "phone": f"+7900111223{account}"})
            tasks = [(1, "Booked", "draft:d-1", {"draft_id": "D-1", "racers": {"2": "R-1"}}),
                     (2, "Watching", "draft:r-1", {"draft_id": "r-1"}),  # younger, on a racer's draft: no row
                     (1, "Cancelled", "draft:d-3", {"draft_id": "d-3", "racers": {"2": "R-3"}}),
                     (1, "Watching", "draft:d-4", {"draft_id": "d-4", "racers": {"2": "R-4", "99": "gone"}}),
                     (1, "Watching", None, {"draft_id": "d-5", "mode": "notify"})]
            for number, (account, phase, claim, spec) in enumerate(tasks, start=1):
                connection.execute(text(
                    "INSERT INTO supply_tasks (id, owner_id, account_id, phase, plan_rank, attempts, spec, claim_key, "
                    "created_at, updated_at) VALUES (:id, 1, :account, :phase, 0, 0, :spec, :claim, CURRENT_TIMESTAMP, "
                    "CURRENT_TIMESTAMP)"),
                    {"id": number, "account": account, "phase": phase, "spec": json.dumps(spec), "claim": claim})
        upgrade(blank_database_url)
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT account_id, claim_key, task_id FROM task_claims")).all()
        assert sorted(map(tuple, rows)) == [(1, "draft:d-1", 1), (1, "draft:d-4", 4), (2, "draft:r-1", 1),
                                            (2, "draft:r-4", 4)]
    finally:
        engine.dispose()
