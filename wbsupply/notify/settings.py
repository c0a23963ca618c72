"""What the notifier needs from the service settings, as one small model (built from ``Settings`` or by tests)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field, SecretStr

TELEGRAM_API_BASE_URL = "https://api.telegram.org/bot"  # the token follows; PTB appends it
TELEGRAM_FILE_BASE_URL = "https://api.telegram.org/file/bot"


class NotifierSettings(BaseModel):
    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = TELEGRAM_API_BASE_URL
    telegram_file_base_url: str | None = None  # derived from the API URL when unset
    telegram_admin_chat_id: int | None = None
    smtp_host: str | None = None  # no host: e-mail is off
    smtp_port: int = 25
    smtp_from: str = "wbsupply@localhost"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    cabinet_public_url: str = "http://127.0.0.1:8000"
    # Moscow time; urgent reminders wait for the end, other Telegram messages arrive silently.
    quiet_hours_start: dt.time | None = None
    quiet_hours_end: dt.time | None = None
    urgent_repeat_seconds: float = Field(default=120.0, gt=0)
    urgent_max_repeats: int = Field(default=10, ge=0)
    poll_interval_seconds: float = Field(default=2.0, gt=0)
    batch_size: int = Field(default=50, ge=1)
    lease_seconds: float = Field(default=120.0, gt=0)
    max_attempts: int = Field(default=8, ge=1)
    backoff_base_seconds: float = Field(default=5.0, gt=0)
    backoff_max_seconds: float = Field(default=3600.0, gt=0)

    @property
    def file_base_url(self) -> str:
        if self.telegram_file_base_url:
            return self.telegram_file_base_url
        return self.telegram_api_base_url.replace("/bot", "/file/bot", 1)

    @classmethod
    def from_settings(cls, settings: Any) -> NotifierSettings:
        """Pick the fields this model knows from the service ``Settings`` (unknown ones keep defaults)."""
        values = {name: getattr(settings, name) for name in cls.model_fields
                  if getattr(settings, name, None) is not None}
        if "cabinet_public_url" not in values and getattr(settings, "api_port", None):
            values["cabinet_public_url"] = f"http://{settings.api_host}:{settings.api_port}"
        return cls(**values)
