"""The fake GitHub repository and token the GitHub forge's tests use (tests/forge/conftest.py
serves the fake and makes the forge on it)."""

TOKEN = "ghp_forgeTOKEN0123456789abcdefABCDEF0123"
REPO = "acme/widgets"
