"""Seeded input corruptions for robustness runs: ``gaussian_noise:0.1,salt_pepper:0.05``.

Corruptions act on the analog (or event-count) input before the model's encoder,
as CIFAR-10-C style benchmarks do; each one is seeded so a report is reproducible.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from latdeploy.errors import LatdeployError


def _gaussian_noise(x: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    return x + rng.normal(0.0, severity, x.shape)


def _salt_pepper(x: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    hit = rng.random(x.shape) < severity
    salt = rng.random(x.shape) < 0.5
    return np.where(hit, np.where(salt, 1.0, 0.0), x)


def _dropout(x: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    return np.where(rng.random(x.shape) < severity, 0.0, x)


CORRUPTIONS: dict[str, Callable[[np.ndarray, float, np.random.Generator], np.ndarray]] = {
    "gaussian_noise": _gaussian_noise,
    "salt_pepper": _salt_pepper,
    "dropout": _dropout,
}


@dataclass(frozen=True)
class Corruption:
    """One named corruption and its severity (noise sigma or probability, in input units of [0, 1])."""

    name: str
    severity: float

    @property
    def label(self) -> str:
        """``name:severity`` as written on the command line."""
        return f"{self.name}:{self.severity:g}"


def parse_corruptions(spec: str) -> list[Corruption]:
    """Parse ``"gaussian_noise:0.1,salt_pepper:0.05"``.

    Raises:
        LatdeployError: for an unknown name or a severity that is not a number in [0, 1].
    """
    result = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, value = item.partition(":")
        if name not in CORRUPTIONS:
            raise LatdeployError(f"--corrupt: unknown corruption {name!r}; known: {sorted(CORRUPTIONS)}")
        try:
            severity = float(value)
        except ValueError:
            raise LatdeployError(f"--corrupt: {item!r} needs a severity, e.g. {name}:0.1") from None
        if not 0.0 <= severity <= 1.0:
            raise LatdeployError(f"--corrupt: severity of {name} is {severity}, outside [0, 1]")
        result.append(Corruption(name, severity))
    return result


def corrupt(x: np.ndarray, corruption: Corruption, seed: int = 0) -> np.ndarray:
    """Return a corrupted copy of inputs ``x`` (same dtype and range as ``x``).

    Float inputs are taken to lie in [0, 1]; integer inputs (event counts) are
    scaled by their maximum, corrupted, then rounded back.
    """
    rng = np.random.default_rng(seed)
    integer = np.issubdtype(x.dtype, np.integer)
    top = float(max(int(x.max()), 1)) if integer else 1.0
    corrupted = np.clip(CORRUPTIONS[corruption.name](x.astype(np.float64) / top, corruption.severity, rng), 0.0, 1.0)
    corrupted = corrupted * top
    return (np.round(corrupted) if integer else corrupted).astype(x.dtype)
