"""One settings object for every component, read from the environment (prefix ``WBSUPPLY_``)."""

from __future__ import annotations

import datetime as dt
import shutil
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from wbsupply.domain.schedule import MONITOR_POLL_INTERVAL

BROWSER_CANDIDATES = ("/usr/bin/chromium-headless-shell", "/usr/bin/chromium")


class ControlPlaneConfig(BaseSettings):
    """Where bots and tasks live besides the database; also read on its own by the cluster mirror."""

    model_config = SettingsConfigDict(env_prefix="WBSUPPLY_", env_file=".env", extra="ignore")

    control_plane: Literal["local", "kubernetes"] = Field(
        default="local", description="kubernetes: also write SellerBot / SupplyTask custom resources"
    )
    kube_namespace: str | None = Field(default=None, description="Namespace of the CRs; default: the pod's own")
    kubeconfig: str | None = Field(default=None, description="Outside a cluster only; default $KUBECONFIG")


class Settings(ControlPlaneConfig):

    # Storage: SQLite file by default, PostgreSQL URL (postgresql+psycopg://...) in the cluster.
    data_dir: Path = Field(default=Path("./data"), description="Folder for the SQLite file and local state")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default sqlite in data_dir")
    # Slot calendar and events: in-process unless a Redis URL is given.
    redis_url: str | None = Field(default=None, description="redis://host:6379/0 for the cluster runtime")
    events_stream_maxlen: int = Field(default=100_000, ge=1000, description="Slot events kept for resuming bots")

    # Web cabinet / API.
    api_host: str = Field(default="127.0.0.1", description="Address of the API and web cabinet")
    api_port: int = Field(default=8000, ge=1, le=65535, description="Port of the API and web cabinet")
    forwarded_allow_ips: str = Field(
        default="",
        description="Proxies trusted for X-Forwarded-For/-Proto, comma-separated ('*' = any); empty: none, the "
        "peer address is the client (set it only behind a reverse proxy that overwrites the header)",
    )
    secret_key: SecretStr | None = Field(
        default=None, description="Signs sessions and encrypts WB sessions; generated into data_dir if unset"
    )
    # The cluster's first administrator (the Helm chart passes them from a Secret): created by `wbsupply api`.
    admin_email: str | None = Field(default=None, description="Login of the first administrator")
    admin_password: SecretStr | None = Field(default=None, description="Password of the first administrator")

    # Wildberries: the built-in sandbox unless real URLs and tokens are configured.
    sandbox_enabled: bool = Field(default=True, description="Start the built-in WB sandbox with `wbsupply up`")
    sandbox_host: str = Field(default="127.0.0.1", description="Address of the sandbox")
    sandbox_port: int = Field(default=8100, ge=1, le=65535, description="Port of the sandbox")
    sandbox_seed: int = Field(default=42, description="Seed of the sandbox market simulation")
    sandbox_speed: float = Field(default=1.0, gt=0, description="Sandbox clock speed (x real time)")
    sandbox_public_api: bool = Field(
        default=False, description="Sandbox answers the public coefficients API (WB switched it off in 2026-08)"
    )
    wb_api_url: str | None = Field(default=None, description="Public API base, e.g. https://common-api.wildberries.ru")
    wb_supplies_api_url: str | None = Field(default=None, description="e.g. https://supplies-api.wildberries.ru")
    wb_cabinet_url: str | None = Field(default=None, description="e.g. https://seller.wildberries.ru")
    wb_api_tokens: list[SecretStr] = Field(default_factory=list, description="Token pool for the monitor")

    # Monitor.
    poll_interval_seconds: float = Field(
        default=MONITOR_POLL_INTERVAL.total_seconds(), ge=1.0, description="Monitor poll interval"
    )
    metrics_port: int = Field(
        default=8200, ge=1, le=65535, description="Port of `wbsupply monitor`'s /healthz and /metrics"
    )
    monitor_primary_source: str = Field(
        default="api", pattern="^(api|cabinet)$", description="api (public API) or cabinet (monitor accounts)"
    )
    monitor_cabinet_interval_seconds: float = Field(
        default=12.0, ge=4.0, description="Cabinet report cadence per monitor account (divided among accounts)"
    )
    monitor_probe_interval_seconds: float = Field(
        default=600.0, ge=30.0, description="While on the cabinet, how often the public API is tried again"
    )
    bot_calendar_check_seconds: float = Field(
        default=6.0, ge=4.0, le=60.0, description="Each bot reads one of its preorders' calendars this often"
    )

    # Browser for worker bots.
    browser_executable: Path | None = Field(
        default=None, description="Chromium binary; default: chromium-headless-shell, then chromium"
    )
    health_port: int = Field(
        default=8080, ge=1, le=65535, description="Port of a standalone worker's / monitor's /healthz"
    )
    wb_account_id: int | None = Field(default=None, description="Account of `wbsupply worker --bot NAME` (pods)")
    browser_headless: bool = Field(default=True, description="Run the bots' browser headless")

    # Notifications (Telegram, e-mail); without a bot token only e-mail and the cabinet feed are used.
    telegram_bot_token: SecretStr | None = Field(default=None, description="Token of the service's Telegram bot")
    telegram_api_base_url: str = Field(
        default="https://api.telegram.org/bot", description="Bot API base (the token follows)"
    )
    telegram_file_base_url: str | None = Field(default=None, description="Bot API file base; derived if unset")
    telegram_admin_chat_id: int | None = Field(default=None, description="Chat that gets operational alerts")
    telegram_bot_username: str | None = Field(
        default=None, description="@username of the service's Telegram bot, named in the cabinet's link step")
    smtp_host: str | None = Field(default=None, description="SMTP server; e-mail is off when unset")
    smtp_port: int = Field(default=25, ge=1, le=65535, description="SMTP port")
    smtp_from: str = Field(default="wbsupply@localhost", description="Sender address of e-mails")
    smtp_username: str | None = Field(default=None, description="SMTP login")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password")
    smtp_starttls: bool = Field(default=False, description="Use STARTTLS")
    cabinet_public_url: str | None = Field(
        default=None, description="Cabinet address used in links; default http://API_HOST:API_PORT"
    )
    quiet_hours_start: dt.time | None = Field(default=None, description="Moscow time, e.g. 23:00")
    quiet_hours_end: dt.time | None = Field(default=None, description="Moscow time, e.g. 08:00")
    urgent_repeat_seconds: float = Field(default=120.0, gt=0, description="Repeat urgent alerts this often")
    urgent_max_repeats: int = Field(default=10, ge=0, description="…at most this many times")

    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR")

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'wbsupply.sqlite3').resolve()}"

    @property
    def sandbox_url(self) -> str:
        """Where the WB sandbox answers (``wbsupply up`` starts it there)."""
        return f"http://{self.sandbox_host}:{self.sandbox_port}"

    def resolved_browser_executable(self) -> Path | None:
        """The configured browser, else the first system Chromium found; None means Playwright's own."""
        if self.browser_executable:
            return self.browser_executable
        for candidate in BROWSER_CANDIDATES:
            if Path(candidate).exists():
                return Path(candidate)
        found = shutil.which("chromium-headless-shell") or shutil.which("chromium")
        return Path(found) if found else None


@lru_cache
def get_settings() -> Settings:
    return Settings()
