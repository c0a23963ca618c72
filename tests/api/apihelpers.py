"""Helpers shared by the API tests."""

from __future__ import annotations

import itertools
from typing import Any

PASSWORD = "correct horse battery"  # every test user's password


_drafts = itertools.count(1)


def task_body(account_id: int, **overrides: Any) -> dict[str, Any]:
    """A valid task; each gets its own draft (a draft belongs to one task: a second one is refused)."""
    body = {"account_id": account_id, "draft_id": f"draft-{next(_drafts)}", "warehouses": [507, 117501],
            "box_type": "boxes", "lead_time_days": 7, "max_coefficient": 1, "mode": "book"}
    body.update(overrides)
    return body
