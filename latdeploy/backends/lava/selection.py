"""The ProcessModel Lava itself would pick for a Process class (its own search and selection)."""

from __future__ import annotations

import functools

from latdeploy.errors import BackendError


@functools.cache
def lava_selected_model(process_type: type) -> type:
    """Return the ProcessModel Lava's own search and selection (``Loihi2SimCfg(select_tag="fixed_pt")``)
    pick for ``process_type`` (for a neuron kind that names no model).

    Raises:
        BackendError: if Lava finds no model for it.
    """
    from lava.magma.compiler.compiler_graphs import ProcGroupDiGraphs
    from lava.magma.compiler.exceptions import NoProcessModelFound
    from lava.magma.core.run_configs import Loihi2SimCfg

    process = object.__new__(process_type)  # the search and the selection read only its class
    process._runtime = None  # what Lava's __del__ (stop) reads
    try:
        return Loihi2SimCfg(select_tag="fixed_pt").select(process, ProcGroupDiGraphs._find_proc_models(process))
    except (AssertionError, NotImplementedError, NoProcessModelFound) as error:
        raise BackendError(f"Lava selects no fixed_pt ProcessModel for {process_type.__name__}: {error}") from error
