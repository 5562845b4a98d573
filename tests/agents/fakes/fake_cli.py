"""A stand-in for an agent CLI we cannot authenticate here (claude, codex).

Usage: fake_cli.py SCENARIO.json [the CLI's own arguments…]. It records its arguments, stdin and
environment in the scenario's `record` file, prints the scenario's stdout lines (objects as
JSON, strings as they are) and stderr lines, optionally sleeps, and exits with `exit_code`.
With a scenario's `version`, `--version` alone prints it and exits 0, recording nothing.
"""

import json
import os
import sys
import time


def main() -> int:
    with open(sys.argv[1]) as f:
        scenario = json.load(f)
    if sys.argv[2:] == ["--version"] and "version" in scenario:
        print(scenario["version"])
        return 0
    record = {
        "argv": sys.argv[2:],
        "stdin": sys.stdin.read(),
        "env": dict(os.environ),
        "pid": os.getpid(),
    }
    with open(scenario["record"], "w") as f:
        json.dump(record, f)
    for line in scenario.get("stdout", []):
        print(line if isinstance(line, str) else json.dumps(line), flush=True)
    for line in scenario.get("stderr", []):
        print(line, file=sys.stderr, flush=True)
    time.sleep(scenario.get("sleep_s", 0))
    return int(scenario.get("exit_code", 0))


if __name__ == "__main__":
    sys.exit(main())
