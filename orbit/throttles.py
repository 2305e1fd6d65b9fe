"""Per-user budgets for the API's writes: posting, commenting, reacting and following.

A view names its budget in `throttle_scope`; the rate comes from
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope] (e.g. "30/hour"). The count is the one the
browser's forms use (orbit.ratelimit): one budget per person, whichever door they come through,
kept with Redis' atomic INCR. (DRF's own throttles read, append and write back a list of
timestamps, so a burst of parallel requests all see the same list and all pass.)
Reads are never throttled here.

Writes anyone may make signed out (a new device token) are counted per client address instead
(AddressThrottle).
"""

from __future__ import annotations

import ipaddress

from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import BaseThrottle

from .ratelimit import RateLimited, check_ip_rate, check_rate
from .security import client_ip


class UserActionThrottle(BaseThrottle):
    """Allow a signed-in user `limit` unsafe requests per window in the view's `throttle_scope`."""

    def __init__(self):
        self.seconds_left: int | None = None

    def allow_request(self, request, view) -> bool:
        scope = getattr(view, "throttle_scope", None)
        if scope is None or request.method in SAFE_METHODS:
            return True
        try:
            check_rate(scope=scope, user=request.user)
        except RateLimited as exc:
            self.seconds_left = exc.retry_after
            return False
        return True

    def wait(self) -> int | None:
        return self.seconds_left


def address_key(ip: str) -> str:
    """Who an address budget counts: the IPv4 address, or the IPv6 /64 (one host is usually given
    a whole /64, so counting single IPv6 addresses would be no limit at all)."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return ip
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


class AddressThrottle(UserActionThrottle):
    """Allow a client address `limit` unsafe requests per window in the view's `throttle_scope`,
    signed in or not: for what an anonymous client may ask for, like a device token."""

    def allow_request(self, request, view) -> bool:
        scope = getattr(view, "throttle_scope", None)
        if scope is None or request.method in SAFE_METHODS:
            return True
        try:
            check_ip_rate(scope=scope, ip=address_key(client_ip(request)))
        except RateLimited as exc:
            self.seconds_left = exc.retry_after
            return False
        return True
