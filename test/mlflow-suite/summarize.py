"""Summarizes a JUnit XML report of run.sh: passed / portable, and each failing test with its first error line.

  python3 test/mlflow-suite/summarize.py /tmp/cairn-suite-out/run.xml
"""

import sys
import xml.etree.ElementTree as ET

tree = ET.parse(sys.argv[1])
passed, failed, skipped, xfailed = [], [], [], []
for case in tree.iter("testcase"):
    name = f"{case.get('classname', '').split('.')[-1]}::{case.get('name')}"
    problem = case.find("failure")
    if problem is None:
        problem = case.find("error")
    skip = case.find("skipped")
    if skip is not None:
        (xfailed if skip.get("type") == "pytest.xfail" else skipped).append(name)
    elif problem is not None:
        message = (problem.get("message") or "").strip().splitlines()
        failed.append((name, message[0][:200] if message else ""))
    else:
        passed.append(name)
portable = len(passed) + len(failed)
print(f"passed {len(passed)} / {portable} run (skipped {len(skipped)}, xfail {len(xfailed)})")
for name, message in sorted(failed):
    print(f"FAIL {name}: {message}")
