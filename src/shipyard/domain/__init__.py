"""Pure domain types: ids, statuses and their transitions, usage, errors, events.

Nothing here does I/O or imports another Shipyard package; the Temporal workflow imports it.
"""
