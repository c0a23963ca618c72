"""The worker bot: one seller's WB cabinet session in a headless browser, booking that seller's tasks.

``main``     entry points: ``Supervisor`` (embedded runtime component) and ``run_worker`` (one bot per process)
``bot``      the bot's loop: session, auth relay, tasks, slot events, heartbeat
``booking``  one booking with quota bookkeeping (JSON-RPC or click-through), reconciliation after a crash
``cabinet``  page object of the WB seller cabinet (everything it knows comes from ``wb.cabinet_spec``)
``auth``     one relayed login step → a Russian answer for the seller
``confirm``  whether WB has a preorder planned (public supplies API, else the cabinet)
``browser``  the shared Chromium, per-bot contexts, encrypted storage state, cache and memory trimming
``slots``    the open slots a bot knows of (calendar snapshot + slot feed)
``health``   PSS of the process tree and the ``/healthz`` endpoint
"""
