"""The shipping area: staff's zones and their methods (`shipping_admin`), bound to their ports, each
use case checking that staff asks."""

from __future__ import annotations

from shop_core.domain.actors import Actor, require_staff
from shop_core.ports.persistence import UnitOfWorkFactory
from shop_core.services import shipping_admin
from shop_core.services.shipping_admin import EVERY_ZONE, ShippingContext
from shop_core.services.shipping_commands import CreateZone, MethodInput, UpdateMethod, UpdateZone
from shop_core.services.shipping_views import MethodView, ZoneView
from shop_core.services.views import Page


class Shipping:
    """Where the shop ships and what it costs: zones of countries, each with its methods. Staff
    only; money in the store currency."""

    def __init__(self, *, uow: UnitOfWorkFactory, currency: str) -> None:
        self.context = ShippingContext(uow, currency)

    async def list_zones(self, actor: Actor, *, offset: int = 0, limit: int = EVERY_ZONE) -> Page[ZoneView]:
        """By name, each with its methods (by price); every zone unless a window is asked for."""
        require_staff(actor)
        return await shipping_admin.list_zones(self.context, offset=offset, limit=limit)

    async def get_zone(self, zone_id: int, actor: Actor) -> ZoneView:
        require_staff(actor)
        return await shipping_admin.get_zone(zone_id, self.context)

    async def find_zone(self, key: str, actor: Actor) -> ZoneView:
        """By name (in any case), else by id (`shop shipping ... ZONE`)."""
        require_staff(actor)
        return await shipping_admin.find_zone(key, self.context)

    async def create_zone(self, cmd: CreateZone, actor: Actor) -> ZoneView:
        """400 naming every field at fault; 409 `country_in_another_zone` or `zone_name_taken`."""
        require_staff(actor)
        return await shipping_admin.create_zone(cmd, self.context)

    async def update_zone(self, zone_id: int, cmd: UpdateZone, actor: Actor) -> ZoneView:
        require_staff(actor)
        return await shipping_admin.update_zone(zone_id, cmd, self.context)

    async def delete_zone(self, zone_id: int, actor: Actor) -> None:
        require_staff(actor)
        await shipping_admin.delete_zone(zone_id, self.context)

    async def add_method(self, zone_id: int, cmd: MethodInput, actor: Actor) -> MethodView:
        require_staff(actor)
        return await shipping_admin.add_method(zone_id, cmd, self.context)

    async def update_method(
        self, method_id: int, cmd: UpdateMethod, actor: Actor, *, zone_id: int | None = None
    ) -> MethodView:
        """Given `zone_id`, a method of another zone is NotFound (the API's path names the zone)."""
        require_staff(actor)
        return await shipping_admin.update_method(zone_id, method_id, cmd, self.context)

    async def delete_method(self, method_id: int, actor: Actor, *, zone_id: int | None = None) -> None:
        require_staff(actor)
        await shipping_admin.delete_method(zone_id, method_id, self.context)
