"""The API as a process of its own (cluster, bench): ``uvicorn --factory wbsupply.api.main:create_app_from_env``."""

from __future__ import annotations

import gc
import sys

from fastapi import FastAPI

from wbsupply.api.app import create_app
from wbsupply.config import get_settings
from wbsupply.process import ProcessContext, make_feed


def create_app_from_env() -> FastAPI:
    settings = get_settings()
    app = create_app(ProcessContext(settings=settings, feed=make_feed(settings)))
    # Everything built so far lives as long as the process: keep it out of the collector's way (p99 latency).
    gc.collect()
    gc.freeze()
    sys.setswitchinterval(0.001)  # the event loop gets the GIL back from handler threads sooner (tail latency)
    return app
