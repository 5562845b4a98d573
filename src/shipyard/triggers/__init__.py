"""Triggers: webhook verification, delivery parsing and event normalisation, source matching."""
