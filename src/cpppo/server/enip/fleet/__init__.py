"""Fleet mode: many simulated devices in one process (docs/fleet.md)."""
