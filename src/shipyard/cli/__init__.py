"""The `shipyard` command line (Typer + Rich). It talks to the API over HTTP, or runs embedded."""
