"""Test doubles that speak an outside service's real wire format (only for services we cannot reach)."""
