"""Parse SQL statements with sqlglot (Debian's python3-sqlglot) in a given dialect.

Reads a JSON list of statements on stdin, prints a JSON list with one entry per statement:
null when it parsed, else the parser's message. Used by the Snowflake parse test.
"""
import json
import sys

import sqlglot

sys.setrecursionlimit(100000)
from sqlglot.errors import ErrorLevel

dialect = sys.argv[1]
out = []
for sql in json.load(sys.stdin):
    try:
        trees = sqlglot.parse(sql, read=dialect, error_level=ErrorLevel.IMMEDIATE)
        if not trees or any(t is None for t in trees):
            out.append("no statement parsed")
        else:
            out.append(None)
    except Exception as e:  # sqlglot raises ParseError and TokenError
        out.append(str(e).splitlines()[0][:300])
print(json.dumps(out))
