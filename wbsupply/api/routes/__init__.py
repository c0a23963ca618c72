"""JSON API routers, one per resource.

Routes declare their response models (the OpenAPI schema documents every body). FastAPI validates a sync
handler's answer in the thread pool; the request's database session is closed before that (``deps.SessionDep``
has function scope), so no connection is held while waiting for a thread (a deadlock under load). The hot
reads (task list, live status) return ``JSONResponse`` and skip that validation altogether.
"""
