"""Notifications: Telegram (python-telegram-bot), e-mail (aiosmtplib) and the cabinet feed, outbox-first.

- producers call :func:`wbsupply.notify.outbox.enqueue` (or ``enqueue_admin_alert``) in their own transaction;
- :mod:`wbsupply.notify.main` runs the notifier (``NotifierComponent``, ``run_notifier``);
- the cabinet reads :func:`wbsupply.notify.feed.feed_for`.

Nothing is imported here on purpose: a worker that only enqueues must not load the Telegram library.
"""
