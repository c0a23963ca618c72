"""Helpers shared by the API tests."""

from __future__ import annotations

from typing import Any

PASSWORD = "correct horse battery"  # every test user's password


def task_body(account_id: int, **overrides: Any) -> dict[str, Any]:
    body = {"account_id": account_id, "draft_id": "draft-1", "warehouses": [507, 117501], "box_type": "boxes",
            "lead_time_days": 7, "max_coefficient": 1, "mode": "book"}
    body.update(overrides)
    return body
