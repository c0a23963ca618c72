"""JSON API routers, one per resource.

Routes declare ``response_model=None``: the logic returns plain dicts, and FastAPI would otherwise validate
them in the thread pool after a sync handler, one more thread hop while the request's session still holds a
database connection (under load every thread can end up waiting for a connection: a deadlock).
"""
