"""Simulated stand-in for the shared EPP v2.4 controller (strictcycle simstack)."""
