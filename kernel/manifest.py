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
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SettingField(_Strict):
    """One setting the merchant fills in. ``secret`` values live in the credential store."""

    type: Literal["string", "integer", "boolean", "secret", "choice", "money"] = "string"
    label: str = ""
    default: Any = None
    required: bool = False
    choices: tuple[str, ...] = ()
    help: str = ""


class AccountKind(_Strict):
    """A connected account the plugin uses (OAuth or API key), brokered by the kernel."""

    kind: Literal["oauth2", "api_key", "basic"]
    provider: str
    hosts: tuple[str, ...] = ()
    raw_access: bool = False  # the plugin wants the raw secret; needs a specific approval
    scopes: tuple[str, ...] = ()


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
