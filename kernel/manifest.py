"""The plugin manifest: ``[tool.comptoir]`` of a plugin's pyproject.toml.

One validator, used by the kernel (before importing a plugin), the SDK (``comptoir sdk
check``) and the marketplace (on upload). It is data, read before any plugin code runs.
"""
from __future__ import annotations

import json
import re
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlparse

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from comptoir.kernel.errors import ManifestError

ID_RE = re.compile(r"^[a-z][a-z0-9-]{1,62}[a-z0-9]$")
SCOPE_RE = re.compile(r"^[a-z_]+:(read|write)$")
HOST_RE = re.compile(r"^(\*\.)?[a-z0-9.-]+(:\d{1,5})?$")
DATA_SCOPES = frozenset(
    f"{area}:{mode}"
    for area in ("products", "stock", "customers", "orders", "payments", "shipments", "loyalty",
                 "carts", "reviews", "usage", "settings")
    for mode in ("read", "write")
)
CATEGORIES = ("payments", "shipping", "social", "widgets", "channels", "recommendations", "data", "other")
CAPABILITIES = ("lifecycle", "payments", "shipping", "social", "widgets", "recommendations", "channels", "events", "data")
MANIFEST_FILE = "comptoir.toml"  # name of the manifest inside a wheel's .dist-info
INJECT_MODES = ("bearer", "header", "basic", "query", "hmac")
HEADER_NAME_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")  # an RFC 9110 token
PARAM_NAME_RE = re.compile(r"^[A-Za-z0-9_.\[\]-]{1,64}$")
PLACEHOLDER_RE = re.compile(r"{([a-z_][a-z0-9_]*)}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SettingField(_Strict):
    """One setting the merchant fills in. ``secret`` values live in the credential store.

    ``url`` is the address of a service the plugin calls (an API base, an instance): it
    must be http(s), and saving one whose host the plugin may not reach yet asks the
    admin to approve that host (granted as ``host:<host>[:<port>]``).
    """

    type: Literal["string", "integer", "boolean", "secret", "choice", "money", "url"] = "string"
    label: str = ""
    default: Any = None
    required: bool = False
    choices: tuple[str, ...] = ()
    help: str = ""


def _url_template(value: str, what: str) -> str:
    """An http(s) URL, possibly opening with one ``{setting}`` placeholder (checked later
    against the manifest's settings: it must name a url setting); returns it unchanged."""
    if not value:
        return value
    names = PLACEHOLDER_RE.findall(value)
    if names and (len(names) > 1 or not value.startswith("{" + names[0] + "}")):
        raise ValueError(f"{what} {value!r}: a '{{setting}}' placeholder may only open the address, once")
    probe = urlparse(PLACEHOLDER_RE.sub("https://placeholder.example", value))
    if probe.scheme not in ("http", "https") or not probe.hostname or probe.username or probe.password:
        raise ValueError(f"{what} {value!r} must be an http(s) address such as 'https://provider.example/oauth/token' "
                         "(a '{setting}' placeholder may stand for a url setting)")
    return value


class AccountKind(_Strict):
    """A connected account the plugin uses (OAuth or API key), brokered by the kernel.

    The injection fields say how the broker sends the secret (see docs/credentials.md):
    ``inject`` defaults to ``bearer`` (``basic`` for a basic account); ``header`` and
    ``prefix`` go with ``header``, ``param`` with ``query``, ``header`` and
    ``timestamp_header`` with ``hmac``. The OAuth fields say where the admin's "Connect
    with …" button goes; they may use ``{setting}`` placeholders (e.g. ``{instance}/oauth/token``).
    """

    kind: Literal["oauth2", "api_key", "basic"]
    provider: str
    hosts: tuple[str, ...] = ()
    raw_access: bool = False  # the plugin wants the raw secret; needs a specific approval
    scopes: tuple[str, ...] = ()
    label: str = ""  # what the merchant is asked for, e.g. "Secret API key (sk_live_…)"
    help: str = ""  # where the merchant finds it
    username_label: str = ""  # basic: what the user name is, e.g. "Client id of your REST app"
    # how the broker injects the secret
    inject: Literal["bearer", "header", "basic", "query", "hmac"] | None = None
    header: str = ""
    prefix: str = ""
    param: str = ""
    timestamp_header: str = ""
    # oauth2: where to send the admin, and how the shop gets a client id
    authorize_url: str = ""
    token_url: str = ""
    registration_url: str = ""  # dynamic client registration (RFC 7591, or Mastodon's /api/v1/apps)
    client_id: str = ""  # a public client id of the vendor's app; else registered or typed by the admin

    @field_validator("header", "timestamp_header")
    @classmethod
    def _header_name(cls, v: str) -> str:
        if v and not HEADER_NAME_RE.match(v):
            raise ValueError(f"{v!r} is not an HTTP header name such as 'X-Api-Key'")
        return v

    @field_validator("param")
    @classmethod
    def _param_name(cls, v: str) -> str:
        if v and not PARAM_NAME_RE.match(v):
            raise ValueError(f"{v!r} is not a query parameter name such as 'api_key'")
        return v

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        if any(c in v for c in "\r\n") or len(v) > 32:
            raise ValueError("prefix must be one short line, such as 'Token '")
        return v

    @field_validator("authorize_url", "token_url", "registration_url")
    @classmethod
    def _endpoint(cls, v: str) -> str:
        return _url_template(v, "address")

    @model_validator(mode="after")
    def _coherent(self) -> "AccountKind":
        mode = self.injection_mode()
        allowed = {"oauth2": ("bearer", "header", "query"), "basic": ("basic",),
                   "api_key": ("bearer", "header", "basic", "query", "hmac")}[self.kind]
        if mode not in allowed:
            raise ValueError(f"inject {mode!r} does not suit a {self.kind} account; use one of {', '.join(allowed)}")
        if mode == "header" and not self.header:
            raise ValueError("inject 'header' needs header, the header's name (e.g. header = \"apiKey\")")
        if mode == "query" and not self.param:
            raise ValueError("inject 'query' needs param, the query parameter's name")
        for name, modes in (("header", ("header", "hmac")), ("prefix", ("header",)), ("param", ("query",)),
                            ("timestamp_header", ("hmac",))):
            if getattr(self, name) and mode not in modes:
                raise ValueError(f"{name} only applies with inject = {' or '.join(repr(m) for m in modes)}")
        if self.username_label and self.kind != "basic":
            raise ValueError("username_label only applies to basic accounts")
        oauth = ("authorize_url", "token_url", "registration_url", "client_id")
        if self.kind != "oauth2" and any(getattr(self, f) for f in oauth):
            raise ValueError(f"{', '.join(oauth)} only apply to oauth2 accounts")
        if bool(self.authorize_url) != bool(self.token_url):
            raise ValueError("an oauth2 account declares both authorize_url and token_url, or neither")
        if self.registration_url and self.client_id:
            raise ValueError("declare client_id or registration_url, not both")
        return self

    def injection_mode(self) -> str:
        return self.inject or ("basic" if self.kind == "basic" else "bearer")

    def injection_config(self) -> dict[str, str]:
        """The account config the broker reads (``inject`` and its fields); no secrets."""
        mode = self.injection_mode()
        config = {"inject": mode}
        for name in ("header", "prefix", "param", "timestamp_header"):
            if getattr(self, name):
                config[name] = getattr(self, name)
        return config

    def placeholders(self) -> list[str]:
        """Settings named by ``{…}`` in the OAuth addresses, in order of appearance."""
        found: list[str] = []
        for url in (self.registration_url, self.authorize_url, self.token_url):
            found += [n for n in PLACEHOLDER_RE.findall(url) if n not in found]
        return found


class Scopes(_Strict):
    data: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    accounts: dict[str, AccountKind] = Field(default_factory=dict)

    @field_validator("data")
    @classmethod
    def _known_data(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for s in v:
            if s not in DATA_SCOPES:
                raise ValueError(f"unknown data scope {s!r}; known: {', '.join(sorted(DATA_SCOPES))}")
        return v

    @field_validator("hosts")
    @classmethod
    def _hosts(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for h in v:
            if not HOST_RE.match(h):
                raise ValueError(f"host {h!r} must be a bare host name such as 'api.example.com'")
        return v


class Pricing(_Strict):
    """How the merchant pays for the plugin (amounts in minor units)."""

    model: Literal["free", "one_time", "recurring", "usage", "recurring_usage"] = "free"
    currency: str = "EUR"
    price: int = 0  # one-time price or recurring price per interval
    interval: Literal["month", "year"] | None = None
    trial_days: int = 0
    usage_unit: str = ""  # order, label, message …
    usage_price: int = 0
    usage_cap: int = 0  # monthly cap in minor units, 0 = none


class Listing(_Strict):
    summary: str = ""
    description: str = ""
    screenshots: tuple[str, ...] = ()
    homepage: str = ""


class Manifest(_Strict):
    id: str
    name: str
    version: str
    vendor: str
    kernel_api: str = ">=1.0,<2"
    capabilities: tuple[str, ...] = ()
    category: str = "other"
    scopes: Scopes = Field(default_factory=Scopes)
    settings: dict[str, SettingField] = Field(default_factory=dict)
    pricing: Pricing = Field(default_factory=Pricing)
    listing: Listing = Field(default_factory=Listing)
    exclusive_slots: tuple[str, ...] = ()  # e.g. "recommendations-engine": one plugin per slot
    requires: tuple[str, ...] = ()  # other plugin ids this one needs
    trusted: bool = False  # first-party / operator-trusted: may run in process
    entry_point: str = ""  # module:object; defaults to the package's entry point

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not ID_RE.match(v):
            raise ValueError("must be 3-64 lowercase letters, digits and dashes, starting with a letter")
        return v

    @field_validator("version")
    @classmethod
    def _version(cls, v: str) -> str:
        try:
            Version(v)
        except InvalidVersion:
            raise ValueError(f"{v!r} is not a PEP 440 version such as '1.2.0'") from None
        return v

    @field_validator("kernel_api")
    @classmethod
    def _api(cls, v: str) -> str:
        try:
            SpecifierSet(v)
        except InvalidSpecifier:
            raise ValueError(f"{v!r} is not a version range such as '>=1.0,<2'") from None
        return v

    @field_validator("capabilities")
    @classmethod
    def _caps(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for c in v:
            if c not in CAPABILITIES:
                raise ValueError(f"unknown capability {c!r}; known: {', '.join(CAPABILITIES)}")
        return v

    @field_validator("category")
    @classmethod
    def _cat(cls, v: str) -> str:
        if v not in CATEGORIES:
            raise ValueError(f"unknown category {v!r}; known: {', '.join(CATEGORIES)}")
        return v

    @model_validator(mode="after")
    def _placeholders(self) -> "Manifest":
        for name, acc in self.scopes.accounts.items():
            for key in acc.placeholders():
                f = self.settings.get(key)
                if f is None or f.type != "url":
                    raise ValueError(f"account {name!r}: {{{key}}} must name a setting of type 'url'")
        return self

    def supports_api(self, api_version: str) -> bool:
        return Version(api_version) in SpecifierSet(self.kernel_api)

    def secret_settings(self) -> list[str]:
        return [k for k, f in self.settings.items() if f.type == "secret"]

    def requested_rights(self) -> list[str]:
        """Flat list of every right asked for, as shown to the admin for approval."""
        rights = list(self.scopes.data)
        rights += [f"host:{h}" for h in self.scopes.hosts]
        for name, acc in self.scopes.accounts.items():
            rights.append(f"account:{name}")
            rights += [f"host:{h}" for h in acc.hosts if f"host:{h}" not in rights]
            if acc.raw_access:
                rights.append(f"raw:{name}")
        return rights


def parse_manifest(data: dict[str, Any], *, source: str = "manifest") -> Manifest:
    """Validate a ``[tool.comptoir]`` table; errors name the source and the field."""
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(root)"
        plugin = data.get("id", source) if isinstance(data, dict) else source
        raise ManifestError(f"plugin {plugin!r}: [tool.comptoir].{where}: {first['msg']}", field=where) from None


def manifest_from_pyproject(path: Path) -> Manifest:
    """Read and validate the manifest of a plugin source tree."""
    try:
        doc = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ManifestError(f"cannot read {path}: {exc}") from None
    table = doc.get("tool", {}).get("comptoir")
    if not isinstance(table, dict):
        raise ManifestError(f"{path} has no [tool.comptoir] table; add one (see docs/writing-plugins.md)")
    table = dict(table)
    project = doc.get("project", {})
    table.setdefault("version", project.get("version", ""))
    return parse_manifest(table, source=str(path))


def manifest_from_distribution(dist: metadata.Distribution) -> Manifest:
    """The manifest of an installed plugin, read without importing it.

    Wheels built by the SDK carry it as ``.dist-info/comptoir.toml``; an editable
    (development) install points back at its source tree through PEP 610's
    ``direct_url.json``, whose pyproject.toml holds it.
    """
    text = dist.read_text(MANIFEST_FILE)
    if text is not None:
        table = tomllib.loads(text)
        table.setdefault("version", dist.version)
        return parse_manifest(table, source=dist.metadata["Name"])
    direct = dist.read_text("direct_url.json")
    if direct:
        url = json.loads(direct).get("url", "")
        if url.startswith("file:"):
            return manifest_from_pyproject(Path(unquote(urlparse(url).path)) / "pyproject.toml")
    raise ManifestError(f"distribution {dist.metadata['Name']!r} carries no Comptoir manifest; "
                        "build it with `comptoir sdk build`")
