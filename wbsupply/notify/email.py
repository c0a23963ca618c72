"""E-mail (aiosmtplib): for what must reach the seller even without Telegram — lost WB login, exhausted limit."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from wbsupply.notify.messages import Message
from wbsupply.notify.outbox import SendResult
from wbsupply.notify.settings import NotifierSettings

SMTP_TIMEOUT_SECONDS = 30.0  # well inside the outbox lease


def build_email(message: Message, sender: str, recipient: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = recipient
    mail["Subject"] = f"wbsupply: {message.title}"
    mail.set_content(f"{message.plain()}\n\n—\nwbsupply. Настроить уведомления можно в кабинете, раздел «Настройки».")
    return mail


class Mailer:
    def __init__(self, settings: NotifierSettings) -> None:
        assert settings.smtp_host is not None
        self.settings = settings

    async def send(self, recipient: str, message: Message) -> SendResult:
        s = self.settings
        try:
            await aiosmtplib.send(
                build_email(message, s.smtp_from, recipient), hostname=s.smtp_host, port=s.smtp_port,
                username=s.smtp_username, password=s.smtp_password.get_secret_value() if s.smtp_password else None,
                start_tls=s.smtp_starttls, timeout=SMTP_TIMEOUT_SECONDS,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            return SendResult(False, permanent=True, error=f"recipient refused: {exc}")
        except (aiosmtplib.SMTPException, OSError) as exc:
            return SendResult(False, error=f"{type(exc).__name__}: {exc}")
        return SendResult(True)
