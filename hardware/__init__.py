"""Hardware profiles for edge CPUs and NPUs, and hardware probing."""
