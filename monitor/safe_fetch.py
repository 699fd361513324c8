"""HTTP downloads that cannot be steered into the monitor's own network.

A URL named in a post is untrusted. Checking its host name and then letting
the HTTP client resolve it again leaves a gap: a name server that answers a
public address to the check and a private one to the connect (DNS rebinding)
reaches the cloud metadata service or the intranet. So each hop is done as:

1. resolve the host name once (``Resolver``);
2. refuse the hop when any answer is not a public unicast address
   (``refusal_for_address``: private, loopback, link-local, shared, reserved,
   multicast, unspecified, and the IPv6 forms that embed such an IPv4 address:
   IPv4-mapped, IPv4-compatible, 6to4, Teredo, NAT64);
3. connect to that vetted address (``PinnedBackend``), while TLS SNI, the
   certificate check and the Host header keep the original host name;
4. follow a redirect by hand, starting again at 1 for the new URL.

``allow_private`` (the settings' ``image_allow_private``, for on-premise
mirrors) lets RFC 1918 / ULA addresses through, never loopback, link-local or
the rest. Loopback is only for tests, through ``monitor.testing.allow_loopback_for_tests``,
which no settings file can reach.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlparse

import httpcore
import httpx

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], list[str]]

# Flipped only by monitor.testing.allow_loopback_for_tests (a test helper); never a setting.
_LOOPBACK_FOR_TESTS = threading.Event()

_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_PRIVATE = tuple(ipaddress.ip_network(n) for n in
                 ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"))
# Special-purpose blocks (IANA registries), listed here as well because the standard
# library's ``is_global`` tables differ between Python versions.
_SPECIAL = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4",
    "100::/64", "2001::/23", "2001:db8::/32", "3fff::/20", "5f00::/16"))


class FetchRefused(Exception):
    """A hop was refused before any connection: its address is not public, or its URL is unusable."""


def system_resolver(host: str) -> list[str]:
    """Every address the system resolver gives for ``host`` (an IP literal gives itself)."""
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))


def _embedded_v4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, 6to4, Teredo, NAT64)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if any(address in net for net in _NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if int(address) >> 32 == 0 and int(address) > 1:  # ::a.b.c.d, deprecated "IPv4-compatible"
        return ipaddress.IPv4Address(int(address))
    return None


def refusal_for_address(address: Address, allow_private: bool = False) -> str | None:
    """Why a connection to ``address`` is refused, or None when it is a public unicast address."""
    if _LOOPBACK_FOR_TESTS.is_set() and address.is_loopback:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_v4(address)
        if inner is not None:
            why = refusal_for_address(inner, allow_private)
            return None if why is None else f"{why} (inside {address})"
    if address.is_loopback:
        return f"loopback address {address}"
    if address.is_link_local:
        return f"link-local address {address}"
    if address.is_multicast:
        return f"multicast address {address}"
    if address.is_unspecified:
        return f"unspecified address {address}"
    if any(address in net for net in _PRIVATE if net.version == address.version):
        return None if allow_private else f"private address {address}"
    if (address.is_reserved or not address.is_global
            or any(address in net for net in _SPECIAL if net.version == address.version)):
        return f"reserved or non-public address {address}"
    return None


def vet_host(host: str, resolver: Resolver, allow_private: bool = False) -> str:
    """Resolve ``host`` once and return the address to connect to; ``FetchRefused`` if unsafe."""
    try:
        answers = resolver(host)
    except (OSError, UnicodeError) as exc:
        raise FetchRefused(f"refused: {host} does not resolve ({exc})") from None
    if not answers:
        raise FetchRefused(f"refused: {host} does not resolve")
    for answer in answers:
        try:
            address = ipaddress.ip_address(answer)
        except ValueError:
            raise FetchRefused(f"refused: {host} resolved to {answer!r}, not an address") from None
        why = refusal_for_address(address, allow_private)
        if why is not None:
            # One bad answer refuses the host: which answer a connect would use is not ours to pick.
            raise FetchRefused(f"refused: {host} resolves to a {why}")
    return answers[0]


class PinnedBackend(httpcore.NetworkBackend):
    """Opens TCP connections to the vetted address of a host, never to a fresh lookup of its name.

    httpcore still passes the original host name to ``start_tls`` (SNI and certificate
    check) and httpx still sends it as Host; only the socket's peer is pinned.
    """

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()
        self._pins: dict[str, str] = {}
        self._lock = threading.Lock()

    def pin(self, host: str, address: str) -> None:
        """Connect to ``address`` whenever ``host`` is asked for."""
        with self._lock:
            self._pins[host.lower()] = address

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        """Connect to the pinned address of ``host``; a host never vetted is refused."""
        with self._lock:
            address = self._pins.get(host.lower().strip("[]"))
        if address is None:
            raise httpcore.ConnectError(f"refused: {host} was not vetted")
        return self._inner.connect_tcp(address, port, timeout, local_address, socket_options)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        """Never: a URL from a post does not get a local socket."""
        raise httpcore.ConnectError("refused: unix sockets are not fetched")

    def sleep(self, seconds: float) -> None:
        """As the system backend."""
        self._inner.sleep(seconds)


class PinnedTransport(httpx.HTTPTransport):
    """An ``httpx.HTTPTransport`` whose connections go to pinned addresses (``PinnedBackend``)."""

    def __init__(self, backend: PinnedBackend, verify: ssl.SSLContext | bool = True) -> None:
        super().__init__(verify=verify)
        context = self._pool._ssl_context
        self._pool = httpcore.ConnectionPool(ssl_context=context, network_backend=backend,
                                             max_connections=4, retries=0)


class SafeFetcher:
    """GET requests whose every hop is resolved once, vetted and pinned; redirects re-checked.

    ``transport`` replaces the pinned transport (tests that answer in-process,
    proxies); the hosts are still resolved and vetted before each hop.
    """

    def __init__(self, *, timeout: float, max_redirects: int = 3, allow_private: bool = False,
                 resolver: Resolver | None = None, transport: httpx.BaseTransport | None = None,
                 headers: dict[str, str] | None = None, verify: ssl.SSLContext | bool = True) -> None:
        self.max_redirects = max_redirects
        self.allow_private = allow_private
        self.resolver = resolver or system_resolver
        self.backend = PinnedBackend()
        self.client = httpx.Client(transport=transport or PinnedTransport(self.backend, verify),
                                   timeout=timeout, follow_redirects=False, headers=headers)

    def close(self) -> None:
        """Close the connections."""
        self.client.close()

    def __enter__(self) -> SafeFetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _vet(self, url: str) -> None:
        try:
            parsed = urlparse(url)
            host = parsed.hostname
        except ValueError:  # e.g. an unbalanced "[" in the host
            raise FetchRefused("not an http(s) URL") from None
        if parsed.scheme not in ("http", "https") or not host:
            raise FetchRefused("not an http(s) URL")
        self.backend.pin(host, vet_host(host, self.resolver, self.allow_private))

    @contextmanager
    def stream(self, url: str) -> Iterator[httpx.Response]:
        """The final (non-redirect) response to GET ``url``, streaming.

        Raises ``FetchRefused`` (the hop named "redirect to ...") or an ``httpx.HTTPError``.
        """
        target = url
        for _ in range(self.max_redirects + 1):
            try:
                self._vet(target)
            except FetchRefused as exc:
                raise FetchRefused(str(exc) if target == url else f"redirect to {exc}") from None
            with self.client.stream("GET", target) as resp:
                if resp.is_redirect and resp.has_redirect_location:
                    target = str(resp.next_request.url) if resp.next_request else ""
                    continue
                yield resp
                return
        raise FetchRefused(f"more than {self.max_redirects} redirects")
