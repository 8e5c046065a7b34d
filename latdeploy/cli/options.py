"""Options that several commands share, each defined once: sample counts, profiles, targets,
backends, weight bits, the verdict gates, ``--trust-pickle``, ``--force``, the hardware run's sample
count and time limit, the user's data (``--data``, ``--calibration-data``) and how samples run
(``--executor``, ``--ray-address``, ``--chunk-samples``, ``--memory-limit``).

Choice lists that come from a registry (``--target``, ``--backend``, ``--executor``) are read when the
command line is parsed, so a backend registered at run time (a test's) is a valid choice.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from latdeploy.backends.select import backend_names, get_backend, target_names
from latdeploy.executors.base import DEFAULT_EXECUTOR, EXECUTORS
from latdeploy.flows.sample_count import UpTo
from latdeploy.hw.profile import DEFAULT_PROFILE
from latdeploy.verify.gates import DEFAULT_MAX_ACCURACY_DROP, DEFAULT_MIN_AGREEMENT

if TYPE_CHECKING:
    from latdeploy.executors.evaluate import Execution

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]
SIMULATOR_BACKENDS = ("fixed", "float")
"""``latdeploy run --backend`` choices besides the registered backends (the simulators)."""


class RegisteredChoice(click.Choice):
    """A :class:`click.Choice` whose choices ``names()`` gives each time they are read."""

    def __init__(self, names: Callable[[], Sequence[str]]) -> None:
        self._names = names
        super().__init__((), case_sensitive=True)

    @property
    def choices(self) -> tuple[str, ...]:  # type: ignore[override]
        """The current choices."""
        return tuple(self._names())

    @choices.setter
    def choices(self, _value: Sequence[str]) -> None:
        """Ignored: the choices are always ``names()``'s."""


class FiniteFloatRange(click.FloatRange):
    """A :class:`click.FloatRange` that also refuses ``nan``, ``inf`` and ``-inf``."""

    name = "finite float range"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """Return the number, in range and finite; fails (``click.BadParameter``) otherwise."""
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


SEED_RANGE = click.IntRange(0, 2**32 - 1)
"""Seeds numpy's generators accept."""


def seed_option(help_text: str | None = None) -> Decorator:
    """``--seed`` in 0..2**32-1 (default 0)."""
    return click.option("--seed", type=SEED_RANGE, default=0, show_default=True, help=help_text)


class ByteSize(click.ParamType):
    """A memory size: bytes, or a number with a binary suffix ``K``, ``M``, ``G``, ``T`` (``512M``, ``1.5G``)."""

    name = "size"
    UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """Return the size in bytes (>= 1 MiB); fails (``click.BadParameter``) otherwise."""
        if isinstance(value, int):
            return value
        text = str(value).strip().upper().removesuffix("IB").removesuffix("B")
        unit = text[-1:] if text[-1:] in self.UNITS else ""
        try:
            number = float(text[: len(text) - len(unit)])
        except ValueError:
            self.fail(f"{value!r} is not a size such as 4G, 512M or 1000000", param, ctx)
        if not math.isfinite(number) or number * self.UNITS[unit] < 2**20:
            self.fail(f"{value!r} is not a size of at least 1M", param, ctx)
        return int(number * self.UNITS[unit])


def memory_limit_option() -> Decorator:
    """``--memory-limit SIZE``: the most memory a simulator run may use (default: half the available memory)."""
    return click.option(
        "--memory-limit",
        type=ByteSize(),
        default=None,
        metavar="SIZE",
        help="Most memory the simulator may use (e.g. 4G); larger inputs run in chunks of samples or are "
        "refused up front. [half the available memory]",
    )


def parse_samples(ctx: click.Context | None, param: click.Parameter | None, value: str) -> int | None:
    """Click callback of ``--samples N|all``: return ``N`` (>= 1) or None for ``all``; the default
    ``N`` is a :class:`~latdeploy.flows.sample_count.UpTo` (all samples when the data holds fewer).

    Raises:
        click.BadParameter: for anything else.
    """
    if value == "all":
        return None
    try:
        number = int(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is neither a number nor 'all'") from None
    if number < 1:
        raise click.BadParameter(f"{number} is not >= 1")
    if ctx is not None and param is not None and ctx.get_parameter_source(param.name) is ParameterSource.DEFAULT:
        return UpTo(number)
    return number


def samples_option(help_text: str = "Test samples in float/fixed point (N or 'all').") -> Decorator:
    """``--samples N|all`` (default 100), parsed to an int or None (all)."""
    return click.option(
        "--samples", default="100", show_default="100, or all if fewer", callback=parse_samples, help=help_text
    )


def profile_option(default: str | None = DEFAULT_PROFILE, help_text: str = "Profile name or YAML path.") -> Decorator:
    """``--profile`` (as ``profile_name``), default the default profile."""
    return click.option("--profile", "profile_name", default=default, show_default=default is not None, help=help_text)


def target_option() -> Decorator:
    """``--target``: a registered backend's target, default the default backend's."""
    return click.option(
        "--target",
        type=RegisteredChoice(target_names),
        default=get_backend().target,
        show_default=True,
        help="Where the hardware run runs (a registered backend's target).",
    )


def backend_option(simulators: bool = False) -> Decorator:
    """``--backend``: a registered backend's name (with ``simulators``, also ``fixed`` and ``float``,
    and ``fixed`` is the default; without, None: the profile's, :func:`latdeploy.backends.select.resolve_backend`)."""
    if simulators:
        names = lambda: [*SIMULATOR_BACKENDS, *backend_names()]  # noqa: E731
        return click.option(
            "--backend", type=RegisteredChoice(names), default="fixed", show_default=True, help="Backend that runs it."
        )
    return click.option(
        "--backend",
        type=RegisteredChoice(backend_names),
        default=None,
        help="Backend that runs the hardware run. [the profile's: xylo for xylo-audio2, else lava]",
    )


def hardware_samples_option(default: int) -> Decorator:
    """``--hardware-samples`` (alias ``--lava-samples``): how many samples the hardware run takes."""
    return click.option(
        "--hardware-samples",
        "--lava-samples",
        "hardware_samples",
        type=click.IntRange(min=1),
        default=default,
        show_default=True,
        help="Samples run on the hardware backend (--lava-samples: an alias).",
    )


def hardware_timeout_option() -> Decorator:
    """``--hardware-timeout`` (alias ``--lava-timeout``): wall-clock limit of the hardware run."""
    return click.option(
        "--hardware-timeout",
        "--lava-timeout",
        "hardware_timeout",
        type=FiniteFloatRange(min=0, min_open=True),
        default=None,
        metavar="SECONDS",
        help="Stop the hardware run after SECONDS (compilation included); exit 2, nothing written "
        "(--lava-timeout: an alias). [no limit]",
    )


def gate_options() -> Decorator:
    """``--max-accuracy-drop POINTS`` and ``--min-agreement FRACTION``: the verdict gates
    (:mod:`latdeploy.verify.gates`), as ``max_accuracy_drop`` and ``min_agreement``."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        command = click.option(
            "--min-agreement",
            type=FiniteFloatRange(0, 1),
            default=DEFAULT_MIN_AGREEMENT,
            show_default=True,
            metavar="FRACTION",
            help="Gate: the fixed-point network decides as the float model on at least this fraction of samples.",
        )(command)
        return click.option(
            "--max-accuracy-drop",
            type=FiniteFloatRange(0, 100),
            default=DEFAULT_MAX_ACCURACY_DROP,
            show_default=True,
            metavar="POINTS",
            help="Gate: fixed-point accuracy at most this many percentage points below float (exit 4 if not).",
        )(command)

    return decorate


def weight_bits_option(help_text: str = "Weight bits (1..8) instead of the profile's.") -> Decorator:
    """``--weight-bits`` 1..8 (default: the profile's)."""
    return click.option("--weight-bits", type=click.IntRange(1, 8), default=None, help=help_text)


def trust_pickle_option() -> Decorator:
    """``--trust-pickle``: unpickle the model file in full."""
    return click.option(
        "--trust-pickle",
        is_flag=True,
        help="Unpickle MODEL in full (full-module pickles); this runs any code in the file. Only for files you trust.",
    )


def force_option() -> Decorator:
    """``--force``: let an output replace an existing file latdeploy did not write (never an input)."""
    return click.option(
        "--force",
        is_flag=True,
        help="Replace an existing file at the output path even if latdeploy did not write it "
        "(never an input, never a directory of other files).",
    )


DATA_HELP = (
    "Your data instead of the shipped test split: an .npz with x (inputs, or encoded spikes [N, T, ...]) and y "
    "(labels), a directory of .npz shards, or module:function returning (x, y) or a torch Dataset (runs that code)."
)


def data_options() -> Decorator:
    """``--data DATA`` and ``--calibration-data DATA`` (as ``data`` and ``calibration_data``, strings or None)."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        command = click.option(
            "--calibration-data",
            default=None,
            metavar="DATA",
            help="Data that chooses the quantization scales (as --data) [the first 512 samples of --data, "
            "else the shipped training split].",
        )(command)
        return click.option("--data", default=None, metavar="DATA", help=DATA_HELP)(command)

    return decorate


def dt_option() -> Decorator:
    """``--dt SECONDS`` (as ``dt``, a positive float or None): the time step of a ``.nir`` file that states none."""
    return click.option(
        "--dt",
        type=click.FloatRange(min=0.0, min_open=True),
        default=None,
        help="Time step in seconds of a .nir file that states none (Sinabs: 1, snnTorch: 1e-4, Norse: its dt).",
    )


def executor_options() -> Decorator:
    """``--executor``, ``--ray-address``, ``--chunk-samples`` and ``--memory-limit`` (as ``executor``,
    ``ray_address``, ``chunk_samples``, ``memory_limit``): how the samples run; :func:`execution_of`
    makes them an :class:`~latdeploy.executors.evaluate.Execution`."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        command = memory_limit_option()(command)
        command = click.option(
            "--chunk-samples",
            type=click.IntRange(min=1),
            default=None,
            metavar="N",
            help="At most N samples per chunk task. [as the memory limit and the executor's workers allow]",
        )(command)
        command = click.option(
            "--ray-address",
            default=None,
            metavar="ADDRESS",
            help="Ray cluster for --executor ray (HOST:PORT of 'ray start --head', or auto). [start a local one]",
        )(command)
        return click.option(
            "--executor",
            type=RegisteredChoice(EXECUTORS.keys),
            default=DEFAULT_EXECUTOR,
            show_default=True,
            help="Where chunks of samples run: local (this process) or ray (a Ray cluster; pip install "
            "'latdeploy[ray]').",
        )(command)

    return decorate


def execution_of(
    executor: str,
    ray_address: str | None,
    chunk_samples: int | None,
    memory_limit: int | None,
    on_progress: Callable[[str], None] | None = None,
) -> Execution:
    """Return the :class:`~latdeploy.executors.evaluate.Execution` of :func:`executor_options`' values.

    Raises:
        click.UsageError: for ``--ray-address`` without ``--executor ray``.
    """
    if ray_address is not None and executor != "ray":
        raise click.UsageError("--ray-address needs --executor ray")
    from latdeploy.executors.evaluate import Execution

    return Execution(executor, ray_address, memory_limit, chunk_samples, on_progress=on_progress)
