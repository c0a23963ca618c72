"""The sandbox's Russian seller cabinet (login, supplies, planning calendar, JSON-RPC).

Pages and endpoints mirror WB's seller cabinet; their paths, selectors and texts all come from
:mod:`wbsupply.wb.cabinet_spec`, which the worker's page objects use as well.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from wbsupply.sandbox.cabinet.auth import build_auth_router
from wbsupply.sandbox.cabinet.pages import build_pages_router
from wbsupply.sandbox.cabinet.rpc import build_rpc_router


def build_router(market: Any) -> APIRouter:
    """Routes of the cabinet UI and its JSON-RPC endpoints, bound to one sandbox market."""
    router = APIRouter()
    router.include_router(build_auth_router(market))
    router.include_router(build_pages_router(market))
    router.include_router(build_rpc_router(market))
    return router
