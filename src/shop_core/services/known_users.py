"""The users this process has read lately, each kept with the stamp its record had.

Every authenticated request needs its user (active? staff?). The token store answers, in the
round trip that checks revocation, with a stamp that changes whenever the user's record changes
(`TokenStore.user_changed`, called after each committed change). While the stamp is the one a
kept user was read under, that user is current and the database need not be asked again.
Entries are also dropped after `MAX_AGE` seconds whatever the stamp says, which bounds how long
any mistake could last. A change made behind the shop's back (a row deleted with SQL) moves no
stamp: requests that write read the user afresh (see `sessions.authenticate`), and a user found
gone is forgotten at once, so from then on every request reads it again and is refused.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from shop_core.services.views import UserView


class KnownUsers:
    MAX_AGE = 5.0  # one read of an active user per process every 5 s: negligible, and a tight bound

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._users: OrderedDict[int, tuple[str, UserView, float]] = OrderedDict()

    def get(self, user_id: int, stamp: str) -> UserView | None:
        kept = self._users.get(user_id)
        if kept is None:
            return None
        kept_stamp, user, read_at = kept
        if kept_stamp != stamp or time.monotonic() - read_at > self.MAX_AGE:
            del self._users[user_id]
            return None
        return user

    def keep(self, user: UserView, stamp: str) -> None:
        self._users[user.id] = (stamp, user, time.monotonic())
        self._users.move_to_end(user.id)
        while len(self._users) > self._size:
            self._users.popitem(last=False)

    def forget(self, user_id: int) -> None:
        self._users.pop(user_id, None)
