"""The pluggy markers and the ``spec`` decorator that states each hook's call semantics."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal, TypeVar

import pluggy

PROJECT = "comptoir"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

Mode = Literal["collect", "firstresult", "targeted", "historic", "wrapper"]
F = TypeVar("F", bound=Callable[..., object])


@dataclass(frozen=True, slots=True)
class HookPolicy:
    """How the kernel calls a hook.

    - ``collect``: every enabled plugin answers; results are gathered in a list.
    - ``firstresult``: plugins are asked in order until one answers non-None.
    - ``targeted``: the kernel calls only the plugin that owns the object (the payment
      method, the quote, the widget); other plugins are never asked.
    - ``historic``: registration-time; a plugin enabled later is called too.
    - ``wrapper``: a new-style pluggy wrapper around a kernel operation.

    ``side_effects`` hooks move money or parcels: a late answer is still honoured (the
    effect happened), while a late answer to a pure hook (quotes, scores) is dropped.
    """

    mode: Mode
    side_effects: bool = False
    timeout_ms: int | None = None


def spec(mode: Mode, *, side_effects: bool = False, timeout_ms: int | None = None) -> Callable[[F], F]:
    """Declare a hookspec with explicit semantics (see :class:`HookPolicy`)."""

    def deco(fn: F) -> F:
        fn.comptoir_policy = HookPolicy(mode, side_effects, timeout_ms)  # type: ignore[attr-defined]
        return hookspec(
            firstresult=mode in ("firstresult", "targeted"),
            historic=mode == "historic",
        )(fn)

    return deco


def policy_of(fn: Callable[..., object]) -> HookPolicy:
    return getattr(fn, "comptoir_policy", HookPolicy("collect"))
