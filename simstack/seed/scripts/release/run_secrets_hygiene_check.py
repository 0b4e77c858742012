"""Simulated stand-in: strictcycle simstack writes this script's artifact (see control-plane-checks)."""
