"""A worker process for the crash test: one bot (``serve_one_bot``) fed one slot event once it is active.

Run as ``python crash_worker.py ACCOUNT_ID EVENT_JSON`` with the ``WBSUPPLY_*`` settings in the environment;
``WBSUPPLY_TEST_CRASH_POINT=after_plan`` freezes it right after WB accepted the booking.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from datetime import UTC, datetime

from wbsupply.config import Settings
from wbsupply.domain.statuses import BotStatus
from wbsupply.feed.memory import MemoryFeed
from wbsupply.store import make_engine
from wbsupply.store.engine import session_scope
from wbsupply.store.models import WbAccount
from wbsupply.worker.main import serve_one_bot


async def main(account_id: int, event: dict) -> None:
    settings = Settings()
    feed, stop = MemoryFeed(), asyncio.Event()
    bot = asyncio.create_task(serve_one_bot(account_id, settings, feed, stop, health_port=0))
    engine = make_engine(settings.resolved_database_url())
    started = datetime.now(UTC)
    while True:  # active again, and alive since this process started (a heartbeat)
        with session_scope(engine) as session:
            account = session.get(WbAccount, account_id)
            beat = account.last_heartbeat_at if account else None
            if account and account.status is BotStatus.ACTIVE and beat and beat > started:
                break
        await asyncio.sleep(0.1)
    await feed.publish([event])
    print("EVENT PUBLISHED", file=sys.stderr, flush=True)
    await bot


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(main(int(sys.argv[1]), json.loads(sys.argv[2])))
