"""One registry type for every per-type table of latdeploy.

Node types, float and fixed-point kernels, quantizers, Lava builders, converters,
connectivity and energy counters, interchange writers, backends and datasets are
each a :class:`Registry`: a named table from a key (usually a node class, else a
name) to what plays one *role* for it. Looking up a key that has no entry raises
one uniform error, ``no <role> for <key>; supported: ...``, of the error class the
registry was made with.

Registration is by decorator (``@KERNELS.register(LIFInt)``) or by call
(``KERNELS.add(LIFInt, kernel)``), from the module that defines the entry; each
package imports its entry modules from one plugin-import module
(``latdeploy/<package>/__init__.py`` or a ``plugins.py``), never at the bottom of
another module. A registry made with ``plugins="latdeploy.<package>.plugins"`` imports that
module itself on its first lookup, so that a light module can import the package (the CLI imports
:mod:`latdeploy.sim.trace`) without loading every entry module (numba, torch) with it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from latdeploy.errors import LatdeployError, UnsupportedLayerError

Key = TypeVar("Key")
Value = TypeVar("Value")
Entry = TypeVar("Entry")


def key_name(key: object) -> str:
    """Return how a registry key is named in messages: a class's ``__name__``, else ``str(key)``."""
    return key.__name__ if isinstance(key, type) else str(key)


class Registry(Generic[Key, Value]):
    """A table from keys to the entries that play ``role`` for them.

    Args:
        role: what an entry is, for messages ("fixed-point kernel", "Lava builder").
        error: the :class:`LatdeployError` subclass a failed lookup raises.
        hint: appended to the failed-lookup message (what to do about it).
        plugins: the plugin-import module of the registry's entries, imported on the first lookup
            (``get``, ``find``, ``names``, ``keys``, ``items``, ``in``, iteration, ``len``); None: the
            entries are registered by whoever imports the registry's package.
    """

    def __init__(
        self,
        role: str,
        error: type[LatdeployError] = UnsupportedLayerError,
        hint: str = "",
        plugins: str | None = None,
    ) -> None:
        self.role = role
        self.error = error
        self.hint = hint
        self._plugins = plugins
        self._entries_: dict[Key, Value] = {}

    @property
    def _entries(self) -> dict[Key, Value]:
        """The table, after importing the plugin-import module (once) if the registry names one."""
        if self._plugins is not None:
            plugins, self._plugins = self._plugins, None
            importlib.import_module(plugins)
        return self._entries_

    def add(self, key: Key, value: Value) -> Value:
        """Register ``value`` for ``key`` (replacing an earlier entry) and return it."""
        self._entries_[key] = value
        return value

    def register(self, key: Key) -> Callable[[Entry], Entry]:
        """Decorator: register the decorated object for ``key``; returns it unchanged."""

        def decorate(value: Entry) -> Entry:
            self._entries_[key] = value  # type: ignore[assignment]
            return value

        return decorate

    def remove(self, key: Key) -> Value:
        """Unregister ``key`` and return its entry (a test's temporary registration, for example).

        Raises:
            LatdeployError: of the registry's error class, as :meth:`get`, if ``key`` has no entry.
        """
        entry = self.get(key)
        del self._entries[key]
        return entry

    def get(self, key: Key, *, subject: str = "") -> Value:
        """Return the entry of ``key``.

        Args:
            subject: names what asked (e.g. ``"node 'lif1'"``); it starts the message.

        Raises:
            LatdeployError: of the registry's error class, ``no <role> for <key>;
                supported: <keys>`` (and the hint), if ``key`` has no entry.
        """
        try:
            return self._entries[key]
        except (KeyError, TypeError):
            supported = ", ".join(sorted(key_name(k) for k in self._entries)) or "none"
            prefix = f"{subject}: " if subject else ""
            hint = f"; {self.hint}" if self.hint else ""
            raise self.error(f"{prefix}no {self.role} for {key_name(key)}; supported: {supported}{hint}") from None

    def find(self, key: Key) -> Value | None:
        """Return the entry of ``key``, or ``None`` if it has none."""
        return self._entries.get(key)

    def names(self) -> list[str]:
        """Return the registered keys' names, sorted."""
        return sorted(key_name(k) for k in self._entries)

    def keys(self) -> list[Key]:
        """Return the registered keys in registration order."""
        return list(self._entries)

    def items(self) -> list[tuple[Key, Value]]:
        """Return ``(key, entry)`` pairs in registration order."""
        return list(self._entries.items())

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[Key]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.role!r}: {', '.join(self.names())})"
