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
from django.core import signing

from .ratelimit import RateLimited, check_ip_rate
from .security import client_ip

DEVICE_COOKIE = "orbit_device"
DEVICE_ID = re.compile(r"^[0-9a-f]{32}$")
# Apps (the API) send the device token the server gave them (POST /api/v1/devices/) in this header
# instead of a cookie.
DEVICE_HEADER = "X-Orbit-Device"
# Devices are issued by the server: the cookie and the header carry "<id>:<signature>", signed with
# SECRET_KEY under this salt of their own, so a client cannot invent ids (one machine, many devices).
DEVICE_SIGNING_SALT = "orbit.fingerprints.device"
# A signed device token is 76 characters; anything much longer is not worth checking.
MAX_DEVICE_TOKEN = 128


def issue_device() -> str:
    """A new device token: a random id and the server's signature of it."""
    return signing.Signer(salt=DEVICE_SIGNING_SALT).sign(secrets.token_hex(16))


def verified_device(token: str | None) -> str | None:
    """The device id in a token this server issued, or None for a missing, malformed or forged one
    (or an unsigned id from before devices were signed)."""
    if not token or len(token) > MAX_DEVICE_TOKEN:
        return None
    try:
        device = signing.Signer(salt=DEVICE_SIGNING_SALT).unsign(token)
    except signing.BadSignature:
        return None
    return device if DEVICE_ID.match(device) else None


class Fingerprint(str):
    """A fingerprint that also carries its network prefix's hash (`network_prefix`), so every
    service that takes a fingerprint string stores both without a second argument."""

    network_prefix: str | None

    def __new__(cls, value: str, *, network_prefix: str | None = None) -> Fingerprint:
        self = super().__new__(cls, value)
        self.network_prefix = network_prefix or None
        return self


def network_prefix_of(fp: str) -> str | None:
    """The network prefix hash a fingerprint carries, or None (a plain string, no address)."""
    return getattr(fp, "network_prefix", None)


def network_prefix(*, ip: str | None) -> str:
    """A salted hash of the client's network prefix (IPv4 /24, IPv6 /48): stored beside the
    fingerprint as a second signal, the same for every device and address a home, office or farm
    gets from its provider ("" without a readable address)."""
    network = _network(ip, ipv6_bits=48)
    return fingerprint(ip=f"prefix:{network}", device_id=None) if network else ""


def _with_prefix(fp: str, *, ip: str | None) -> Fingerprint:
    return Fingerprint(fp, network_prefix=network_prefix(ip=ip) if fp else None)


def fingerprint(*, ip: str | None, device_id: str | None) -> str:
    """A salted hash linking events from one network and device without storing either."""
    if not ip and not device_id:
        return ""
    raw = f"{settings.ORBIT_FINGERPRINT_SALT}|{ip or ''}|{device_id or ''}".encode()
    return hashlib.sha256(raw).hexdigest()[:32]


def network_fingerprint(*, ip: str | None) -> str:
    """A salted hash of the client's network (IPv4 /24, IPv6 /64): signed-out events count once
    per network, so neither one address nor its neighbours can replay beacons into a ranking."""
    network = _network(ip, ipv6_bits=64)
    return fingerprint(ip=f"net:{network}", device_id=None) if network else ""


def _network(ip: str | None, *, ipv6_bits: int) -> str:
    """The IPv4 /24 or IPv6 /`ipv6_bits` holding `ip` (an IPv4-mapped IPv6 address as IPv4); "" when unreadable."""
    try:
        address = ipaddress.ip_address((ip or "").strip())
    except ValueError:
        return ""
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return str(ipaddress.ip_network(f"{address}/{24 if address.version == 4 else ipv6_bits}", strict=False))


def signed_out_fingerprint(*, ip: str | None) -> str:
    """What a signed-out reader's events are recorded under: their network's fingerprint, or ""
    once their address is over THROTTLE_ANON_BEACON, and an event without one is not recorded."""
    try:
        check_ip_rate(scope="anon_beacon", ip=ip or "")
    except RateLimited:
        return ""
    return _with_prefix(network_fingerprint(ip=ip), ip=ip)


def browser_fingerprint(request) -> str:
    """A browser's fingerprint: its IP and a signed device cookie, issued on first sight and in
    place of a missing, malformed or forged one (the page views' `web_view` sets the cookie on the
    response)."""
    device = verified_device(request.COOKIES.get(DEVICE_COOKIE))
    if device is None:
        token = getattr(request, "_orbit_new_device", None) or issue_device()
        request._orbit_new_device = token
        device = verified_device(token)
    ip = request.META.get("REMOTE_ADDR")
    return _with_prefix(fingerprint(ip=ip, device_id=device), ip=ip)


def app_fingerprint(request) -> str:
    """An API client's fingerprint: its IP and the device token the app sends in X-Orbit-Device,
    when this server signed it; without one (or with an invented one), its IP alone."""
    device = verified_device(request.headers.get(DEVICE_HEADER))
    ip = request.META.get("REMOTE_ADDR")
    return _with_prefix(fingerprint(ip=ip, device_id=device), ip=ip)


def beacon_fingerprint(request, *, device=browser_fingerprint) -> str:
    """For views, time spent, trade clicks and share opens: the reader's own fingerprint (`device`,
    browser or app) when signed in; signed out, their network's, or "" (answered as usual, not
    recorded) once their address is over its rate."""
    own = device(request)  # a browser gets its device cookie even signed out, for when they sign in
    if request.user.is_authenticated:
        return own
    return signed_out_fingerprint(ip=client_ip(request))
