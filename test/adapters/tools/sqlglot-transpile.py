"""Translate SQL from one dialect to another with sqlglot (Debian's python3-sqlglot).

Reads a JSON list of statements on stdin; prints a JSON list of {"sql": ...} or {"error": ...}.
"""
import json
import sys

import sqlglot

sys.setrecursionlimit(100000)
from sqlglot.errors import ErrorLevel

source, target = sys.argv[1], sys.argv[2]
out = []
for sql in json.load(sys.stdin):
    try:
        out.append({"sql": ";\n".join(sqlglot.transpile(sql, read=source, write=target, error_level=ErrorLevel.IMMEDIATE))})
    except Exception as e:
        out.append({"error": str(e).splitlines()[0][:300]})
print(json.dumps(out))
