"""Pure domain types: the work order and its steps with the typed changes made to them
(`work_orders`), ids, statuses and their transitions, usage, errors, events.

Nothing here does I/O or imports another Shipyard package; the Temporal workflow imports it.
"""
