"""Chip arithmetic as data: the widths, shifts, ranges and rules of a neuromorphic core.

One :class:`Arithmetic` object says how a chip computes: the widths of ``u`` and
``v``, the weight/bias/threshold mantissas and exponents, the decay resolution, the
shifts that align activations and thresholds, and the stock neuron's threshold
comparison. The quantizer, the simulators, fake-quant training and the divergence
analysis read it; the numbers below are written nowhere else.

:data:`LOIHI` is the arithmetic of lava-nc 0.10.0's bit-accurate ``fixed_pt`` models
(``lava/proc/lif/models.py``, ``lava/proc/dense/models.py``; see
``docs/loihi-fixed-point.md``), the one the Lava kernels implement. :data:`XYLO` is SynSense
Xylo's (xylosim 0.1.3, measured against it bit for bit: ``docs/xylo.md``), implemented by
``latdeploy.sim.xylo_core``.
:func:`arithmetic_of` builds the object a profile describes (the implemented arithmetic with the
profile's ``decay_bits``: Loihi's 12, Xylo's 4) and refuses one
whose arithmetic differs from it, naming the field. A profile may *narrow*
the ranges the quantizer uses (fewer weight, threshold or bias bits, a smaller
weight exponent range): the chip then computes the same way on smaller numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from latdeploy.errors import ProfileError

if TYPE_CHECKING:
    from latdeploy.hw.profile import Profile


@dataclass(frozen=True)
class Arithmetic:
    """How one chip computes (field names as in a profile's ``arithmetic`` section)."""

    name: str
    weight_bits: int
    """Largest weight width, sign included (Lava: 8-bit mantissas, ``clip_weights(num_bits=8)``)."""
    weight_exp_min: int
    weight_exp_max: int
    threshold_mantissa_bits: int
    """Unsigned bits of ``vth``."""
    threshold_shift: int
    """``theta = vth << threshold_shift`` (Loihi MSB-aligns the threshold)."""
    threshold_comparison: str
    """``"greater"`` (``v > theta``) or ``"greater_equal"``, for the stock LIF."""
    activation_shift: int
    """``u += a << activation_shift``."""
    decay_bits: int
    """Decays are ``d / 2**decay_bits``, rounded toward zero."""
    bias_mantissa_bits: int
    """Signed bits of ``bias_mant``."""
    bias_exp_max: int
    """Largest ``bias_exp`` (unsigned)."""
    state_bits: int
    u_state_bits: int
    """``u`` wraps once at ``+-2**(u_state_bits - 1)``."""
    v_state_bits: int
    """``v`` saturates at ``+-(2**(v_state_bits - 1) - 1)`` (``saturation="symmetric"``)."""
    decay_rule: str = "multiply"
    """``"multiply"``: ``x * (2**decay_bits - d) >> decay_bits`` rounded toward zero (Loihi);
    ``"shift"``: ``x - (x >> dash)``, at least one step toward zero (Xylo, ``dash < 2**decay_bits``)."""
    saturation: str = "symmetric"
    """Saturated states lie in ``+-(2**(bits-1) - 1)`` (``"symmetric"``) or the two's-complement range
    (Xylo, whose ``Isyn`` saturates too where Loihi's ``u`` wraps)."""
    max_spikes_per_step: int = 1
    """Spikes one neuron may emit in one step (Xylo's hidden neurons: up to 31, ``v -= n * threshold``)."""
    max_input_spikes_per_step: int = 1
    """Input events one channel delivers in one step (Xylo: a 4-bit count, larger counts saturate)."""

    @property
    def state_limit(self) -> int:
        """``2**(u_state_bits - 1)``: where ``u`` wraps (Lava's ``max_uv_val``)."""
        return 1 << (self.u_state_bits - 1)

    @property
    def v_max(self) -> int:
        """The largest ``|v|``: ``2**(v_state_bits - 1) - 1``."""
        return (1 << (self.v_state_bits - 1)) - 1

    @property
    def v_min(self) -> int:
        """The smallest ``v``: ``-v_max``, or ``-2**(v_state_bits - 1)`` in the two's-complement range."""
        return -self.v_max - (self.saturation == "twos_complement")

    @property
    def decay_unity(self) -> int:
        """``2**decay_bits``: the decay that clears a state each step."""
        return 1 << self.decay_bits

    @property
    def vth_max(self) -> int:
        """The largest ``vth`` the threshold mantissa holds."""
        return (1 << self.threshold_mantissa_bits) - 1

    @property
    def bias_mant_min(self) -> int:
        """The smallest ``bias_mant``."""
        return -(1 << (self.bias_mantissa_bits - 1))

    @property
    def bias_mant_max(self) -> int:
        """The largest ``bias_mant``."""
        return (1 << (self.bias_mantissa_bits - 1)) - 1

    def theta(self, vth: int) -> int:
        """Return the membrane threshold ``vth << threshold_shift``."""
        return int(vth) << self.threshold_shift

    @property
    def comparison(self) -> str:
        """The stock neuron's threshold test as an operator: ``">"`` (``v > theta``) or ``">="``."""
        return ">" if self.threshold_comparison == "greater" else ">="


LOIHI = Arithmetic(
    name="loihi",
    weight_bits=8,
    weight_exp_min=-8,
    weight_exp_max=7,
    threshold_mantissa_bits=17,
    threshold_shift=6,
    threshold_comparison="greater",
    activation_shift=6,
    decay_bits=12,
    bias_mantissa_bits=13,
    bias_exp_max=7,
    state_bits=24,
    u_state_bits=24,
    v_state_bits=24,
)
"""Lava 0.10's ``fixed_pt`` LIF/Dense arithmetic (Loihi 1 and 2 share it in Lava's simulation)."""

XYLO = Arithmetic(
    name="xylo",
    weight_bits=8,
    weight_exp_min=0,
    weight_exp_max=7,
    threshold_mantissa_bits=15,
    threshold_shift=0,
    threshold_comparison="greater_equal",
    activation_shift=0,
    decay_bits=4,
    bias_mantissa_bits=16,
    bias_exp_max=0,
    state_bits=16,
    u_state_bits=16,
    v_state_bits=16,
    decay_rule="shift",
    saturation="twos_complement",
    max_spikes_per_step=31,
    max_input_spikes_per_step=15,
)
"""SynSense Xylo Audio 2 / IMU (xylosim 0.1.3 ``v2``), established by experiment (``docs/xylo.md``):
int8 weights left-shifted by a per-matrix ``weight_shift`` 0..7 (``weight_exp``), 16-bit ``Isyn`` and
``Vmem`` saturating in the two's-complement range, 4-bit bit-shift decays, ``v >= threshold`` with
subtractive reset (up to 31 spikes a step in the hidden layer, 1 in the output), signed 16-bit bias."""

IMPLEMENTED: tuple[Arithmetic, ...] = (LOIHI, XYLO)
"""The arithmetics latdeploy's simulators and quantizer implement."""

NARROWABLE = ("weight_bits", "threshold_mantissa_bits", "bias_mantissa_bits", "bias_exp_max")
"""Fields a profile may set below the implemented value (the chip computes alike on fewer bits)."""
SIGN_MODES = ("mixed", "excitatory", "inhibitory")
"""Lava's weight sign modes (``lava/utils/weightutils.py``); the quantizer may produce each."""


def arithmetic_of(profile: Profile) -> Arithmetic:
    """Return the arithmetic ``profile`` describes.

    Raises:
        ProfileError: if the profile has no arithmetic (energy-only), or if a field
            differs from every implemented arithmetic in a way the simulators cannot
            follow (a wider or different value, another comparison); the message names
            the file, the field, its value and what latdeploy implements.
    """
    section = profile.values.get("arithmetic")
    if section is None:
        raise ProfileError(f"profile {profile.name!r} ({profile.path.name}) is {profile.kind}: it has no arithmetic")
    reference = next((a for a in IMPLEMENTED if a.decay_bits == section["decay_bits"]), None)
    if reference is None:
        known = ", ".join(f"{a.decay_bits} ({a.name})" for a in IMPLEMENTED)
        raise ProfileError(
            f"{profile.path}: field 'arithmetic.decay_bits' is {section['decay_bits']!r}, which names no arithmetic "
            f"latdeploy's simulators implement ({known}); a chip that computes differently needs its own "
            "Arithmetic in latdeploy.hw.arithmetic"
        )
    values = {}
    for f in fields(Arithmetic):
        if f.name == "name":
            continue
        implemented = getattr(reference, f.name)
        value = section.get(f.name, implemented)
        if f.name in NARROWABLE:
            ok = (0 if f.name == "bias_exp_max" else 1) <= value <= implemented
        elif f.name == "weight_exp_min":
            ok = implemented <= value <= min(0, reference.weight_exp_max)
        elif f.name == "weight_exp_max":
            ok = 0 <= value <= implemented
        else:
            ok = value == implemented
        if not ok:
            allowed = (
                f"at most {implemented}"
                if f.name in NARROWABLE
                else f"in [{implemented}, 0]"
                if f.name == "weight_exp_min"
                else f"in [0, {implemented}]"
                if f.name == "weight_exp_max"
                else f"{implemented!r}"
            )
            raise ProfileError(
                f"{profile.path}: field 'arithmetic.{f.name}' is {value!r}, which latdeploy's simulators do not "
                f"implement (the {reference.name} arithmetic needs {allowed}); a chip that computes differently "
                f"needs its own Arithmetic in latdeploy.hw.arithmetic"
            )
        values[f.name] = value
    if reference is LOIHI and set(section["sign_modes"]) != set(SIGN_MODES):
        raise ProfileError(
            f"{profile.path}: field 'arithmetic.sign_modes' is {section['sign_modes']!r}; latdeploy's quantizer "
            f"writes every Lava sign mode ({', '.join(SIGN_MODES)}), so the profile must list all of them"
        )
    return Arithmetic(name=profile.name, **values)
