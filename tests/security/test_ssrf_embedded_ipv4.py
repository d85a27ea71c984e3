"""Issue 13 #12: IPv6 addresses that carry an IPv4 address (NAT64, 6to4, IPv4-mapped and
-compatible, Teredo) are judged by the IPv4 address they embed. ``64:ff9b::7f00:1`` reaches
127.0.0.1 through a NAT64 gateway, yet Python calls it global."""

from __future__ import annotations

import pytest

from fedi.http import address_is_public, embedded_ipv4

CASES = [
    # (address, public?)
    ("93.184.215.14", True),
    ("2606:4700::6810:84e5", True),
    ("127.0.0.1", False),
    ("10.1.2.3", False),
    ("::1", False),
    ("fe80::1%eth0", False),
    ("fd00::1", False),
    # NAT64, well-known prefix (RFC 6052) and local-use prefix (RFC 8215)
    ("64:ff9b::7f00:1", False),
    ("64:ff9b::a00:1", False),
    ("64:ff9b::c0a8:101", False),
    ("64:ff9b::5db8:d70e", True),
    ("64:ff9b:1::7f00:1", False),
    ("64:ff9b:1:0:0:0:7f00:1", False),
    ("64:ff9b:1::5db8:d70e", False),  # local-use: a network of its own, never global
    # 6to4 (RFC 3056): 2002:AABB:CCDD::/48 embeds AA.BB.CC.DD
    ("2002:7f00:1::", False),
    ("2002:7f00:1::1", False),
    ("2002:a9fe:a9fe::1", False),  # 169.254.169.254, the cloud metadata address
    ("2002:5db8:d70e::1", True),
    # IPv4-mapped and IPv4-compatible
    ("::ffff:127.0.0.1", False),
    ("::ffff:7f00:1", False),
    ("::ffff:93.184.215.14", True),
    ("::127.0.0.1", False),
    ("::a9fe:a9fe", False),
    # Teredo (RFC 4380): the client address is stored inverted in the last 32 bits
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", False),  # client 127.0.0.1
    # ISATAP-style interface ids are not trusted either way; multicast never
    ("ff02::1", False),
    ("224.0.0.1", False),
]


@pytest.mark.parametrize(("address", "public"), CASES)
def test_embedded_ipv4_is_judged(address: str, public: bool) -> None:
    assert address_is_public(address) is public


def test_embedded_ipv4_extraction() -> None:
    assert str(embedded_ipv4("64:ff9b::7f00:1")) == "127.0.0.1"
    assert str(embedded_ipv4("64:ff9b:1::a00:1")) == "10.0.0.1"
    assert str(embedded_ipv4("2002:7f00:1::")) == "127.0.0.1"
    assert str(embedded_ipv4("::ffff:10.0.0.1")) == "10.0.0.1"
    assert str(embedded_ipv4("::10.0.0.1")) == "10.0.0.1"
    assert embedded_ipv4("2606:4700::6810:84e5") is None
    assert embedded_ipv4("::1") is None
