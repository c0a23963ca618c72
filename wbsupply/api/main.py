"""The API as a process of its own (cluster, bench): ``uvicorn --factory wbsupply.api.main:create_app_from_env``."""

from __future__ import annotations

import gc
import sys
from typing import Any

from fastapi import FastAPI

from wbsupply.api.app import create_app
from wbsupply.config import get_settings
from wbsupply.feed.memory import MemoryFeed
from wbsupply.runtime import Runtime


def create_app_from_env() -> FastAPI:
    settings = get_settings()
    feed: Any = MemoryFeed(settings.events_stream_maxlen)
    if settings.redis_url:
        from wbsupply.feed.redis import RedisFeed

        feed = RedisFeed(settings.redis_url, maxlen=settings.events_stream_maxlen)
    app = create_app(Runtime(settings=settings, feed=feed))
    # Everything built so far lives as long as the process: keep it out of the collector's way (p99 latency).
    gc.collect()
    gc.freeze()
    sys.setswitchinterval(0.001)  # the event loop gets the GIL back from handler threads sooner (tail latency)
    return app
