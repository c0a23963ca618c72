"""The worker's control plane in the cluster: the database as everywhere, plus CR status for the operator.

:class:`MirroringControlPlane` delegates every call to the inner plane (``LocalControlPlane``) and then
queues a status merge patch of the bot's ``SellerBot`` / the task's ``SupplyTask``. The patches go out in
order from one background task, so a slow or broken Kubernetes API never delays or fails a booking: the
database write has happened, the mirror is best effort and logs (once per outage) what it could not write.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from wbsupply.control.base import AuthStep, BookingRecord, BotRecord, ControlPlane, Notice, TaskRecord
from wbsupply.control.bookings import Adoption, Settlement
from wbsupply.control.kube_mirror import (
    ControlPlaneSettings,
    CustomResourceMirror,
    MirrorError,
    bot_status_patch,
    task_status_patch,
)
from wbsupply.domain.slots import Slot
from wbsupply.domain.statuses import BotStatus, TaskPhase
from wbsupply.kube.client import KubeApiError, KubeClient, load_configuration

log = logging.getLogger(__name__)
Write = Callable[[CustomResourceMirror], Awaitable[None]]
QUEUE_LIMIT = 1000  # writes waiting while the API is down; older heartbeats are worth nothing anyway
WRITE_TIMEOUT = 10.0


class MirroringControlPlane:
    def __init__(self, inner: ControlPlane, mirror: CustomResourceMirror, bot_id: int, bot_name: str,
                 *, pod: str | None = None) -> None:
        self.inner = inner
        self.bot_id = bot_id  # one pod, one bot: the SellerBot every bot-level write goes to
        self.mirror = mirror
        self.bot_name = bot_name
        self.pod = pod
        self._queue: asyncio.Queue[Write] = asyncio.Queue(QUEUE_LIMIT)
        self._sender: asyncio.Task[None] | None = None
        self._failing = False
        self._plan_limit: int | None = None
        self._task_names: dict[int, str] = {}  # SupplyTasks created with kubectl keep their own names

    # --- the background writer ---

    def _send(self, write: Write) -> None:
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._drain(), name=f"cr-mirror-{self.bot_name}")
        if self._queue.full():
            self._queue.get_nowait()  # drop the oldest: the newest state is what the operator needs
            self._queue.task_done()
        self._queue.put_nowait(write)

    async def _drain(self) -> None:
        while True:
            write = await self._queue.get()
            try:
                await asyncio.wait_for(write(self.mirror), WRITE_TIMEOUT)
            except (TimeoutError, MirrorError) as exc:
                self._report(exc)
            except Exception:  # a bug here must not kill the writer; the booking goes on regardless
                log.exception("CR mirror write failed")
            else:
                if self._failing:
                    log.info("Kubernetes API reachable again; CR status mirroring resumed")
                self._failing = False
            finally:
                self._queue.task_done()

    def _report(self, exc: Exception) -> None:
        cause = exc.__cause__
        if isinstance(cause, KubeApiError) and cause.status == 404:
            log.debug("CR to mirror does not exist: %s", exc)  # e.g. a task created before the cluster mode
            return
        if not self._failing:
            log.warning("cannot write CR status (the database is up to date): %s", exc)
        self._failing = True

    async def flush(self) -> None:
        """Wait (a bounded time) for queued writes: tests, shutdown."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), WRITE_TIMEOUT)

    async def aclose(self) -> None:
        await self.flush()
        if self._sender is not None:
            self._sender.cancel()
            await asyncio.gather(self._sender, return_exceptions=True)
        await self.mirror.close()

    def _bot_status(self, **fields: Any) -> None:
        patch = bot_status_patch(**fields)
        self._send(lambda mirror: mirror.mirror_bot_status(self.bot_name, patch))

    def _task_status(self, task_id: int, patch: dict[str, Any]) -> None:
        name = self._task_names.get(task_id)
        self._send(lambda mirror: mirror.mirror_task_status(task_id, patch, name=name))

    def _remember(self, record: TaskRecord) -> TaskRecord:
        if record.cr_name:
            self._task_names[record.id] = record.cr_name
        return record

    async def _mirror_bookings(self, user_id: int) -> None:
        """The operator's quota check reads bookingsThisMonth; the ledger (reserved units included) is the truth.

        A courtesy to the operator: a failure here never fails the booking call that triggered it.
        """
        try:
            if self._plan_limit is None:
                self._plan_limit = (await self.inner.get_bot(self.bot_id)).plan_limit
            left = await self.inner.quota_left(user_id, self._plan_limit)
        except Exception:
            log.exception("cannot count this month's bookings for the SellerBot status")
            return
        self._bot_status(bookings_this_month=self._plan_limit - left)

    # --- the bot ---

    async def get_bot(self, bot_id: int) -> BotRecord:
        record = await self.inner.get_bot(bot_id)
        self._plan_limit = record.plan_limit
        return record

    async def set_bot_status(self, bot_id: int, status: BotStatus, *, error: str | None = None) -> None:
        await self.inner.set_bot_status(bot_id, status, error=error)
        self._bot_status(status=status, error=error, clear_error=error is None, pod=self.pod)

    async def heartbeat(self, bot_id: int, *, memory_bytes: int | None) -> None:
        await self.inner.heartbeat(bot_id, memory_bytes=memory_bytes)
        self._bot_status(heartbeat=dt.datetime.now(dt.UTC), memory_bytes=memory_bytes, pod=self.pod)

    async def save_session(self, bot_id: int, blob: bytes | None) -> None:
        await self.inner.save_session(bot_id, blob)

    async def set_auth(
        self, bot_id: int, state: str, prompt: dict[str, Any] | None = None, *, attempts: int | None = None,
        supplier_id: str | None = None,
    ) -> None:
        await self.inner.set_auth(bot_id, state, prompt, attempts=attempts, supplier_id=supplier_id)
        self._bot_status(auth_state=state, auth_attempts=attempts)

    async def next_auth_step(self, bot_id: int) -> AuthStep | None:
        return await self.inner.next_auth_step(bot_id)

    async def finish_auth_step(self, step_id: int, ok: bool, message: str) -> None:
        await self.inner.finish_auth_step(step_id, ok, message)

    # --- tasks ---

    async def active_tasks(self, bot_id: int) -> list[TaskRecord]:
        return [self._remember(record) for record in await self.inner.active_tasks(bot_id)]

    async def move_task(self, task_id: int, phase: TaskPhase, message: str | None = None) -> TaskRecord:
        record = self._remember(await self.inner.move_task(task_id, phase, message))
        self._task_status(task_id, task_status_patch(record.phase, record.message))
        return record

    # --- bookings ---

    async def reserve_booking(self, task: TaskRecord, limit: int, account_id: int | None = None
                              ) -> BookingRecord | None:
        return await self.inner.reserve_booking(task, limit, account_id)

    async def mark_booking_attempt(self, booking_id: int, *, preorder_id: int, slot: Slot) -> None:
        await self.inner.mark_booking_attempt(booking_id, preorder_id=preorder_id, slot=slot)

    async def confirm_booking(self, booking: BookingRecord, *, supply_id: int | None, slot: Slot,
                              coefficient: float | None = None) -> TaskRecord:
        record = await self.inner.confirm_booking(booking, supply_id=supply_id, slot=slot, coefficient=coefficient)
        paid = slot.coefficient if coefficient is None else coefficient
        booked = {"warehouseId": slot.warehouse_id, "warehouseName": slot.warehouse_name or None,
                  "date": slot.date.isoformat(), "boxType": slot.box_type.value, "coefficient": round(paid)}
        self._task_status(booking.task_id, task_status_patch(record.phase, record.message, booked=booked,
                                                             supply_id=supply_id))
        self._bot_status(last_booking=dt.datetime.now(dt.UTC))
        await self._mirror_bookings(booking.user_id)
        return record

    async def release_booking(self, booking: BookingRecord) -> None:
        await self.inner.release_booking(booking)
        await self._mirror_bookings(booking.user_id)

    async def mark_plan_requested(self, booking_id: int) -> None:
        await self.inner.mark_plan_requested(booking_id)

    async def settle(self, bot_id: int, booking: BookingRecord, settlement: Settlement) -> TaskRecord:
        record = await self.inner.settle(bot_id, booking, settlement)
        slot = settlement.slot
        booked = None if slot is None or not settlement.booked else {
            "warehouseId": slot.warehouse_id, "warehouseName": slot.warehouse_name or None,
            "date": slot.date.isoformat(), "boxType": slot.box_type.value, "coefficient": round(slot.coefficient)}
        self._task_status(booking.task_id, task_status_patch(record.phase, record.message, booked=booked,
                                                             supply_id=settlement.supply_id))
        if booked is not None:
            self._bot_status(last_booking=dt.datetime.now(dt.UTC))
        await self._mirror_bookings(booking.user_id)
        return record

    async def settle_move(self, bot_id: int, booking: BookingRecord, slot: Slot, notice: Notice,
                          payload: dict[str, Any]) -> TaskRecord:
        record = await self.inner.settle_move(bot_id, booking, slot, notice, payload)
        booked = {"warehouseId": slot.warehouse_id, "warehouseName": slot.warehouse_name or None,
                  "date": slot.date.isoformat(), "boxType": slot.box_type.value, "coefficient": round(slot.coefficient)}
        self._task_status(booking.task_id, task_status_patch(record.phase, record.message, booked=booked,
                                                             supply_id=booking.supply_id))
        await self._mirror_bookings(booking.user_id)
        return record

    async def mark_move_requested(self, booking_id: int, slot: Slot) -> None:
        await self.inner.mark_move_requested(booking_id, slot)

    async def move_missed(self, bot_id: int, booking: BookingRecord, payload: dict[str, Any], *,
                          level: str = "INFO") -> None:
        await self.inner.move_missed(bot_id, booking, payload, level=level)

    async def follow_wb(self, bot_id: int, booking: BookingRecord, slot: Slot, coefficient: float | None,
                        notice: Notice, payload: dict[str, Any]) -> TaskRecord:
        record = await self.inner.follow_wb(bot_id, booking, slot, coefficient, notice, payload)
        booked = {"warehouseId": slot.warehouse_id, "warehouseName": slot.warehouse_name or None,
                  "date": slot.date.isoformat(), "boxType": slot.box_type.value,
                  "coefficient": None if coefficient is None else round(coefficient)}
        self._task_status(booking.task_id, task_status_patch(record.phase, record.message, booked=booked,
                                                             supply_id=booking.supply_id))
        return record

    async def booked_supplies(self, bot_id: int) -> list[tuple[TaskRecord, BookingRecord]]:
        return await self.inner.booked_supplies(bot_id)

    async def adopt(self, bot_id: int, task_id: int, adoption: Adoption) -> TaskRecord:
        record = self._remember(await self.inner.adopt(bot_id, task_id, adoption))
        slot = adoption.slot
        booked = None if record.phase is not TaskPhase.BOOKED else {
            "warehouseId": slot.warehouse_id, "warehouseName": slot.warehouse_name or None,
            "date": slot.date.isoformat(), "boxType": slot.box_type.value,
            "coefficient": None if adoption.coefficient is None else round(adoption.coefficient)}
        self._task_status(task_id, task_status_patch(record.phase, record.message, booked=booked,
                                                     supply_id=adoption.supply_id))
        return record

    async def improvable(self, bot_id: int) -> list[tuple[TaskRecord, BookingRecord, int]]:
        return await self.inner.improvable(bot_id)

    async def save_cabinet_supplies(self, bot_id: int, supplies: dict[str, Any]) -> None:
        await self.inner.save_cabinet_supplies(bot_id, supplies)

    async def quota_left(self, user_id: int, limit: int) -> int:
        return await self.inner.quota_left(user_id, limit)

    async def open_bookings(self, bot_id: int) -> list[BookingRecord]:
        return await self.inner.open_bookings(bot_id)

    # --- journal ---

    async def log_event(self, bot_id: int, message: str, *, level: str = "INFO", task_id: int | None = None,
                        payload: dict[str, Any] | None = None) -> None:
        await self.inner.log_event(bot_id, message, level=level, task_id=task_id, payload=payload)

    async def notify(self, notice: Notice) -> None:
        await self.inner.notify(notice)


def cluster_control_plane(inner: ControlPlane, bot_id: int, bot_name: str, *, pod: bool = False) -> ControlPlane:
    """``inner`` mirrored to CRs when this worker runs as a SellerBot pod, else ``inner`` itself.

    A pod the operator started carries ``WBSUPPLY_BOT_NAME`` / ``WBSUPPLY_BOT_NAMESPACE`` (a packed pod:
    ``pod=True`` and the namespace): without the mirror its SellerBot would never get a heartbeat and the
    operator would mark it ERROR, so those pods mirror even if ``WBSUPPLY_CONTROL_PLANE`` was left out of
    the worker's environment.
    """
    settings = ControlPlaneSettings()
    pod_bot = None if pod else os.environ.get("WBSUPPLY_BOT_NAME")
    if settings.control_plane != "kubernetes" and not pod_bot and not pod:
        return inner
    namespace = os.environ.get("WBSUPPLY_BOT_NAMESPACE") or settings.namespace()
    mirror = CustomResourceMirror(KubeClient(load_configuration(settings.kubeconfig)), namespace)
    return MirroringControlPlane(inner, mirror, bot_id, pod_bot or bot_name, pod=os.environ.get("POD_NAME"))


async def close_control_plane(control: ControlPlane) -> None:
    if isinstance(control, MirroringControlPlane):
        await control.aclose()

