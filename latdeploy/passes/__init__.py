"""Graph -> graph transformations. A pass never mutates its input graph."""
