"""Hub settings: a TOML file, overridden by ``VOISINS_*`` environment variables.

Every key is validated here, at the edge, so that a wrong or missing value stops the
command with one line naming the key instead of a traceback deep inside the server.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fedi.sections import TableError, check_tables

DEFAULT_CONFIG_PATH = "voisins.toml"

_HOST_RE = re.compile(
    r"^(?=.{1,253}(:\d{1,5})?$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*(:\d{1,5})?$"
)
_POSTAL_RE = re.compile(r"^\d{5}$")


class ConfigError(Exception):
    """A configuration value is missing or wrong; the message names the key."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"configuration error: {key}: {message}")
        self.key = key


@dataclass(frozen=True)
class Settings:
    """Everything a hub needs to know about itself, validated."""

    domain: str
    name: str
    scheme: str
    territory: tuple[str, ...]
    secret: str
    database_url: str
    neighbours: tuple[str, ...] = ()
    allowed: tuple[str, ...] = ()
    allow_http: bool = False
    allow_private_addresses: bool = False
    ca_bundle: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    tls_cert: str | None = None
    tls_key: str | None = None
    run_workers: bool = True
    config_path: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses or networks);
    # empty: none, the socket's peer is the client.
    forwarded_allow_ips: tuple[str, ...] = ()
    # Link requests from hubs no admin listed, waiting for an admin (fedi.services.trust).
    # [hub] description: a few sentences for the front page and /api/v1/instance.
    description: str = ""
    max_pending_links: int = 100
    max_pending_links_per_domain: int = 3
    pending_link_days: float = 14.0

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.domain}"


def normalize_domain(value: str) -> str:
    """Lower-case a ``host[:port]`` and check its shape; raises ValueError."""
    domain = value.strip().lower().rstrip("/")
    if "://" in domain:
        domain = domain.split("://", 1)[1].rstrip("/")
    if not _HOST_RE.match(domain):
        raise ValueError(f"{value!r} is not a host name (host or host:port)")
    if ":" in domain:
        port = int(domain.rsplit(":", 1)[1])
        if not 0 < port < 65536:
            raise ValueError(f"{value!r} has an invalid port")
    return domain


def domain_port(domain: str) -> int | None:
    """The port written in a ``host:port`` domain, None when there is none."""
    return int(domain.rsplit(":", 1)[1]) if ":" in domain else None


def _env_overrides(env: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """``VOISINS_SECTION_KEY=value`` → ``{"section": {"key": "value"}}``."""
    out: dict[str, dict[str, str]] = {}
    for name, value in env.items():
        if not name.startswith("VOISINS_") or name == "VOISINS_CONFIG":
            continue
        rest = name[len("VOISINS_") :].lower()
        if "_" not in rest:
            continue
        section, key = rest.split("_", 1)
        out.setdefault(section, {})[key] = value
    return out


def _as_bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"1", "true", "yes", "on"}:
        return True
    if isinstance(value, str) and value.lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(key, f"expected true or false, got {value!r}")


def _as_list(key: str, value: Any) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise ConfigError(key, f"expected a list of strings, got {value!r}")


def _as_str(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(key, f"expected a string, got {value!r}")
    return value


def _domains(key: str, value: Any) -> tuple[str, ...]:
    out = []
    for item in _as_list(key, value):
        try:
            out.append(normalize_domain(item))
        except ValueError as exc:
            raise ConfigError(key, str(exc)) from None
    return tuple(dict.fromkeys(out))


def _as_number(key: str, value: Any, *, minimum: float, integer: bool) -> Any:
    if isinstance(value, bool):
        raise ConfigError(key, f"expected a number, got {value!r}")
    try:
        number = int(value) if integer else float(value)
    except (TypeError, ValueError):
        raise ConfigError(key, f"expected a number, got {value!r}") from None
    if number < minimum:
        raise ConfigError(key, f"must be at least {minimum:g}, got {value!r}")
    return number


def load_settings(path: str | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read the TOML file (if any) and the environment, and validate every key."""
    env = os.environ if env is None else env
    path = path or env.get("VOISINS_CONFIG") or None
    if path is None and Path(DEFAULT_CONFIG_PATH).exists():
        path = DEFAULT_CONFIG_PATH
    data: dict[str, Any] = {}
    base_dir = Path.cwd()
    if path:
        p = Path(path)
        if not p.exists():
            raise ConfigError("--config", f"file {path} does not exist (run `voisins init`)")
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError("--config", f"{path} is not valid TOML: {exc}") from None
        base_dir = p.resolve().parent
    for section, values in _env_overrides(env).items():
        current = data.setdefault(section, {})
        if not isinstance(current, dict):
            raise ConfigError(section, "must be a table")
        current.update(values)
    for section in ("hub", "database", "federation", "server"):
        if not isinstance(data.get(section, {}), dict):
            raise ConfigError(section, "must be a table")
    hub = data.get("hub", {})
    database = data.get("database", {})
    fed = data.get("federation", {})
    server = data.get("server", {})

    if "domain" not in hub:
        if not path:  # no file at all: the operator is not in a hub's folder
            raise ConfigError("--config", f"no {DEFAULT_CONFIG_PATH} here "
                                          "(use --config or run voisins init)")
        raise ConfigError("hub.domain", "missing (host[:port] used in every id)")
    try:
        domain = normalize_domain(_as_str("hub.domain", hub["domain"]))
    except ValueError as exc:
        raise ConfigError("hub.domain", str(exc)) from None
    scheme = _as_str("hub.scheme", hub.get("scheme", "https"))
    if scheme not in {"http", "https"}:
        raise ConfigError("hub.scheme", f"must be http or https, got {scheme!r}")
    territory = tuple(_as_list("hub.territory", hub.get("territory", [])))
    for code in territory:
        if not _POSTAL_RE.match(code):
            raise ConfigError("hub.territory", f"{code!r} is not a 5-digit postal code")
    secret = _as_str("hub.secret", hub.get("secret", ""))
    if len(secret) < 16:
        raise ConfigError("hub.secret", "missing or shorter than 16 characters (run `voisins init`)")

    url = _as_str("database.url", database.get("url", "sqlite:///voisins.db"))
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        rel = url[len("sqlite:///") :]
        if rel and rel != ":memory:":
            url = "sqlite:///" + str((base_dir / rel).resolve())
    elif not url.startswith(("sqlite:", "postgresql")):
        raise ConfigError("database.url", f"must be a sqlite:/// or postgresql:// URL, got {url!r}")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]

    try:
        port = int(server.get("port", 8000))
    except (TypeError, ValueError):
        raise ConfigError("server.port", f"expected a number, got {server.get('port')!r}") from None
    if not 0 < port < 65536:
        raise ConfigError("server.port", f"{port} is not a TCP port")
    tls_cert = server.get("tls_cert") or None
    tls_key = server.get("tls_key") or None
    for key, value in (("server.tls_cert", tls_cert), ("server.tls_key", tls_key)):
        if value is not None and not Path(_as_str(key, value)).is_file():
            raise ConfigError(key, f"file {value} does not exist")
    if bool(tls_cert) != bool(tls_key):
        raise ConfigError("server.tls_key", "tls_cert and tls_key go together")
    ca_bundle = fed.get("ca_bundle") or None
    if ca_bundle is not None and not Path(_as_str("federation.ca_bundle", ca_bundle)).is_file():
        raise ConfigError("federation.ca_bundle", f"file {ca_bundle} does not exist")
    try:
        check_tables(data)  # [api], [delivery], [mesh], [registrations], [territory]
    except TableError as exc:
        raise ConfigError(exc.key, str(exc)) from None

    forwarded = _trusted_proxies(server.get("forwarded_allow_ips", []))

    return Settings(
        domain=domain,
        name=_as_str("hub.name", hub.get("name", domain)),
        description=_as_str("hub.description", hub.get("description", "")),
        scheme=scheme,
        territory=territory,
        secret=secret,
        database_url=url,
        neighbours=_domains("federation.neighbours", fed.get("neighbours", [])),
        allowed=_domains("federation.allowed", fed.get("allowed", [])),
        allow_http=_as_bool("federation.allow_http", fed.get("allow_http", False)),
        allow_private_addresses=_as_bool(
            "federation.allow_private_addresses", fed.get("allow_private_addresses", False)
        ),
        ca_bundle=ca_bundle,
        host=_as_str("server.host", server.get("host", "127.0.0.1")),
        port=port,
        tls_cert=tls_cert,
        tls_key=tls_key,
        run_workers=_as_bool("server.run_workers", server.get("run_workers", True)),
        config_path=str(Path(path).resolve()) if path else None,
        extra={k: v for k, v in data.items() if k not in {"hub", "database", "federation", "server"}},
        forwarded_allow_ips=forwarded,
        max_pending_links=_as_number("federation.max_pending_links",
                                     fed.get("max_pending_links", 100), minimum=1, integer=True),
        max_pending_links_per_domain=_as_number(
            "federation.max_pending_links_per_domain",
            fed.get("max_pending_links_per_domain", 3), minimum=1, integer=True),
        pending_link_days=_as_number("federation.pending_link_days",
                                     fed.get("pending_link_days", 14), minimum=0.001,
                                     integer=False),
    )


def _trusted_proxies(value: Any) -> tuple[str, ...]:
    """``server.forwarded_allow_ips``: IP addresses or networks (``10.0.0.0/8``), or ``*``
    (any peer: only when nothing but the proxy can reach the port)."""
    out = []
    for item in _as_list("server.forwarded_allow_ips", value):
        if item != "*":
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ConfigError("server.forwarded_allow_ips",
                                  f"{item!r} is not an IP address or network") from None
        out.append(item)
    return tuple(out)


def render_config(
    *,
    domain: str,
    name: str,
    scheme: str = "https",
    territory: list[str] | None = None,
    database_url: str = "sqlite:///voisins.db",
    allow_http: bool = False,
    allow_private_addresses: bool = False,
    port: int = 8000,
) -> str:
    """The text of a fresh config file, with a new random secret."""
    terr = ", ".join(f'"{c}"' for c in (territory or []))

    def q(s: str) -> str:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

    return (
        "# Voisins hub configuration. Every key can be overridden by VOISINS_SECTION_KEY.\n"
        "[hub]\n"
        f"domain = {q(domain)}\n"
        f"name = {q(name)}\n"
        f"scheme = {q(scheme)}\n"
        f"territory = [{terr}]\n"
        f"secret = {q(secrets.token_urlsafe(32))}\n\n"
        "[database]\n"
        f"url = {q(database_url)}\n\n"
        "[federation]\n"
        "neighbours = []\n"
        "allowed = []\n"
        "# Local testing only: peers over plain http, peers on loopback/private addresses.\n"
        f"allow_http = {'true' if allow_http else 'false'}\n"
        f"allow_private_addresses = {'true' if allow_private_addresses else 'false'}\n\n"
        "[server]\n"
        'host = "127.0.0.1"\n'
        f"port = {port}\n"
    )
