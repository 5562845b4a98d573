"""Shipyard's benchmarks: `./dev bench [--quick] [--only NAME,…]` (or `python -m bench`).

Each benchmark drives a real `shipyard serve` (or the parts it measures) and returns figures;
`python -m bench` prints them as a table and as one JSON object, and `--save` writes the JSON to
`bench/results/`. Benchmarks never decide pass or fail: they measure.
"""
