"""Simulators of the IR: float (equals the torch model) and fixed point (equals Lava)."""
