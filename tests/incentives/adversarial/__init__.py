"""Attacks on the weekly settlement, run against an honest community through the real computation."""
