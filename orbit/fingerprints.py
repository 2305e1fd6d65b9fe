"""Privacy-safe fingerprints: salted hashes that link a reader's events without storing their address
or device. Every fingerprint Orbit records comes from here.

A fingerprint is a claim about the client, never proof: the anti-cheating checks use it to group
events, and money and ranking never trust it on its own.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets

from django.conf import settings

from .ratelimit import RateLimited, check_ip_rate
from .security import client_ip

DEVICE_COOKIE = "orbit_device"
DEVICE_ID = re.compile(r"^[0-9a-f]{32}$")
# Apps (the API) name their device in this header instead of a cookie.
DEVICE_HEADER = "X-Orbit-Device"


def fingerprint(*, ip: str | None, device_id: str | None) -> str:
    """A salted hash linking events from one network and device without storing either."""
    if not ip and not device_id:
        return ""
    raw = f"{settings.ORBIT_FINGERPRINT_SALT}|{ip or ''}|{device_id or ''}".encode()
    return hashlib.sha256(raw).hexdigest()[:32]


def network_fingerprint(*, ip: str | None) -> str:
    """A salted hash of the client's network (IPv4 /24, IPv6 /64): signed-out events count once
    per network, so neither one address nor its neighbours can replay beacons into a ranking."""
    try:
        address = ipaddress.ip_address((ip or "").strip())
    except ValueError:
        return ""
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    network = ipaddress.ip_network(f"{address}/{24 if address.version == 4 else 64}", strict=False)
    return fingerprint(ip=f"net:{network}", device_id=None)


def signed_out_fingerprint(*, ip: str | None) -> str:
    """What a signed-out reader's events are recorded under: their network's fingerprint, or ""
    once their address is over THROTTLE_ANON_BEACON, and an event without one is not recorded."""
    try:
        check_ip_rate(scope="anon_beacon", ip=ip or "")
    except RateLimited:
        return ""
    return network_fingerprint(ip=ip)


def browser_fingerprint(request) -> str:
    """A browser's fingerprint: its IP and a random device cookie, issued on first sight (the page
    views' `web_view` sets the cookie on the response)."""
    device = request.COOKIES.get(DEVICE_COOKIE, "")
    if not DEVICE_ID.match(device):
        device = getattr(request, "_orbit_new_device", None) or secrets.token_hex(16)
        request._orbit_new_device = device
    return fingerprint(ip=request.META.get("REMOTE_ADDR"), device_id=device)


def app_fingerprint(request) -> str:
    """An API client's fingerprint: its IP and the device id an app may send in X-Orbit-Device."""
    device = request.headers.get(DEVICE_HEADER, "")[:64]
    return fingerprint(ip=request.META.get("REMOTE_ADDR"), device_id=device)


def beacon_fingerprint(request, *, device=browser_fingerprint) -> str:
    """For views, time spent, trade clicks and share opens: the reader's own fingerprint (`device`,
    browser or app) when signed in; signed out, their network's, or "" (answered as usual, not
    recorded) once their address is over its rate."""
    own = device(request)  # a browser gets its device cookie even signed out, for when they sign in
    if request.user.is_authenticated:
        return own
    return signed_out_fingerprint(ip=client_ip(request))
