"""Consumers of the integer IR: Lava processes (and, later, netx and ONNX host graphs)."""
