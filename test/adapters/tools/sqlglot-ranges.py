"""Where a statement filters an event table by its timestamp, is it a plain range on the column?

Reads JSON {"dialect": D, "statements": [...], "tables": {"dataset.table": "ts_column", ...}} on
stdin. For every WHERE of a SELECT reading one of the tables, every reference to that table's
timestamp column must stand bare on one side of a comparison (=, <, <=, >, >=) whose other side
reads no column, or under IS NULL: what BigQuery's partition pruning and Snowflake's micro-partition pruning
need (a function around the column defeats both). Prints JSON {"ranges": N, "violations": [...]}.
"""
import json
import sys

import sqlglot
from sqlglot import exp

sys.setrecursionlimit(100000)
job = json.load(sys.stdin)
tables = job["tables"]
COMPARE = (exp.EQ, exp.GT, exp.GTE, exp.LT, exp.LTE)
ranges = 0
violations = []
for sql in job["statements"]:
    try:
        trees = sqlglot.parse(sql, read=job["dialect"])
    except Exception as e:  # sqlglot 10 does not read BigQuery's column OPTIONS in DDL
        # a statement it cannot read must not read an event table, or it would go unchecked
        if any(f"`{t.split('.')[-1]}`" in sql for t in tables):
            violations.append("unparsed: " + str(e).splitlines()[0][:200])
        continue
    for tree in trees:
        if tree is None:
            continue
        for select in tree.find_all(exp.Select):
            where = select.args.get("where")
            source = select.args.get("from")
            # sqlglot 10 (Debian's) holds FROM's items in `expressions`, later ones in `this`
            items = (source.args.get("expressions") or [source.args.get("this")]) if source is not None else []
            if where is None or len(items) != 1 or not isinstance(items[0], exp.Table):
                continue
            table = items[0]
            name = ".".join(p for p in (table.text("db"), table.name) if p)
            ts = tables.get(name)
            if ts is None:
                continue
            for column in where.find_all(exp.Column):
                if column.name != ts:
                    continue
                # the innermost select holding the column must be this one (not a subquery of it)
                if column.find_ancestor(exp.Select) is not select:
                    continue
                node = column
                while isinstance(node.parent, exp.Paren):
                    node = node.parent
                parent = node.parent
                other = None
                if isinstance(parent, COMPARE):
                    other = parent.expression if parent.this is node else parent.this
                elif isinstance(parent, exp.Is) and isinstance(parent.expression, exp.Null):
                    # IS NULL on the bare column: pruned as well (partition and null-count metadata)
                    other = parent.expression
                if other is None or any(True for _ in other.find_all(exp.Column)):
                    violations.append((parent or column).sql(dialect=job["dialect"])[:200])
                else:
                    ranges += 1
print(json.dumps({"ranges": ranges, "violations": violations}))
