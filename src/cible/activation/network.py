"""Where a webhook may go: the guard against server-side request forgery (SSRF).

A webhook's URL is written by a person with the editor role, and the server calls it
from inside the network it runs in. Without a guard, ``http://169.254.169.254/`` (a
cloud's metadata service, which hands out credentials) or ``http://10.0.0.5/admin``
would be reachable through Cible. So every call resolves the host first and refuses
when ANY of its addresses is loopback, private, link-local (the metadata addresses
``169.254.169.254`` and ``fd00:ec2::254`` included), multicast, reserved,
unspecified or otherwise not global, unless the host name or the address is in
``[activation] allow_hosts`` (names, addresses or networks such as ``10.0.0.0/8``).

The call then goes to the address that was checked, not to the name: resolving the
name a second time could give another answer (DNS rebinding). The ``Host`` header
and, over HTTPS, the TLS server name (SNI, also the name the certificate is checked
against) stay the original host's.

Examples
--------
>>> import asyncio
>>> async def resolver(host, port):
...     return {"hooks.example.com": ["93.184.215.14"], "intranet.example": ["10.1.2.3"]}[host]
>>> guard = Guard([], resolver=resolver)
>>> target = asyncio.run(guard.check("https://hooks.example.com/in?x=1"))
>>> target.url, target.host_header, target.extensions
('https://93.184.215.14/in?x=1', 'hooks.example.com', {'sni_hostname': 'hooks.example.com'})
>>> asyncio.run(guard.check("http://intranet.example/"))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
cible.activation.network.RefusedAddressError: intranet.example resolves to 10.1.2.3, a private ...
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias
from urllib.parse import urlsplit, urlunsplit

from cible.domain.errors import CibleError

#: ``resolver(host, port)``: the host's addresses (text), as the system would give them.
Resolver: TypeAlias = Callable[[str, int], Awaitable[Sequence[str]]]
IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network

_DEFAULT_PORTS = {"http": 80, "https": 443}


class RefusedAddressError(CibleError):
    """A webhook URL that may not be called: its host is not public, or not resolvable."""


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system's resolver gives ``host`` (``getaddrinfo``), in its order."""
    loop = asyncio.get_running_loop()
    found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in found))


def non_public_reason(address: IPAddress) -> str | None:
    """Why ``address`` is not a public one (``loopback``, ``private``...), or None.

    Examples
    --------
    >>> import ipaddress
    >>> [non_public_reason(ipaddress.ip_address(a))
    ...  for a in ("127.0.0.1", "169.254.169.254", "fd00:ec2::254", "::ffff:10.0.0.1",
    ...            "2002:a9fe:a9fe::1", "1.1.1.1")]
    ['loopback', 'link-local', 'private', 'private', 'link-local', None]
    """
    if isinstance(address, ipaddress.IPv6Address):
        # IPv4 carried inside IPv6 (mapped, 6to4, Teredo) is judged as the IPv4 it is.
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address.teredo is not None:
            embedded = address.teredo[1]
        if embedded is not None:
            return non_public_reason(embedded)
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("non-global", not address.is_global),
    )
    return next((reason for reason, applies in checks if applies), None)


@dataclass(frozen=True)
class Target:
    """A checked URL, ready to call: the address in the URL, the host kept for HTTP/TLS.

    Attributes
    ----------
    url : str
        The URL with the checked address in place of the host name.
    host_header : str
        The ``Host`` header (the original host, with its port when not the default).
    extensions : dict
        httpx request extensions: ``sni_hostname`` over HTTPS.
    address : str
        The address called.
    """

    url: str
    host_header: str
    address: str
    extensions: dict[str, Any] = field(default_factory=dict)


class Guard:
    """Checks webhook URLs against the allow-list before each call (see the module).

    Parameters
    ----------
    allow_hosts : sequence of str
        ``[activation] allow_hosts``: host names, addresses or networks allowed although
        not public.
    resolver : callable, optional
        ``resolver(host, port)`` giving the host's addresses; the system's by default
        (tests give their own).
    """

    def __init__(self, allow_hosts: Sequence[str], *, resolver: Resolver = system_resolver):
        self.allow_hosts = list(allow_hosts)
        self.resolver = resolver
        self._names = {h.lower().rstrip(".") for h in allow_hosts if _network(h) is None}
        self._networks = [n for n in map(_network, allow_hosts) if n is not None]

    def allowed(self, host: str, address: IPAddress) -> bool:
        """Whether ``host`` or ``address`` is in the allow-list."""
        if host.lower().rstrip(".") in self._names:
            return True
        return any(address.version == n.version and address in n for n in self._networks)

    async def check(self, url: str) -> Target:
        """The :class:`Target` to call for ``url``.

        Raises
        ------
        RefusedAddressError
            When the URL is not http(s), its host does not resolve, or one of its
            addresses is not public and not allowed.
        """
        parts = urlsplit(url)
        host = parts.hostname
        if parts.scheme not in _DEFAULT_PORTS or not host:
            raise RefusedAddressError(f"{url!r} is not an http:// or https:// URL with a host.")
        try:
            port = parts.port or _DEFAULT_PORTS[parts.scheme]
        except ValueError:
            raise RefusedAddressError(f"{url!r} has an invalid port.") from None
        literal = _address(host)
        if literal is not None:
            addresses = [literal]
        else:
            try:
                found = await self.resolver(host, port)
            except OSError as exc:
                raise RefusedAddressError(f"{host} does not resolve ({exc}).") from None
            addresses = [a for a in map(_address, found) if a is not None]
            if not addresses:
                raise RefusedAddressError(f"{host} does not resolve to any address.")
        for address in addresses:
            reason = non_public_reason(address)
            if reason is not None and not self.allowed(host, address):
                raise RefusedAddressError(
                    f"{host} resolves to {address}, a {reason} address; add it to "
                    "[activation] allow_hosts to allow it."
                )
        chosen = addresses[0]
        shown = f"[{chosen}]" if chosen.version == 6 else str(chosen)
        netloc = shown if parts.port is None else f"{shown}:{parts.port}"
        host_header = parts.netloc.rsplit("@", 1)[-1]
        extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
        return Target(
            url=urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")),
            host_header=host_header,
            address=str(chosen),
            extensions=extensions,
        )


def _address(text: str) -> IPAddress | None:
    """``text`` as an IP address (a scope such as ``%eth0`` dropped), or None."""
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


def _network(text: str) -> IPNetwork | None:
    """``text`` as an address or network, or None for a host name."""
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None
