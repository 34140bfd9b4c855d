# The independent oracle of SPEC §20's labelling: networkx shortest path lengths over the graph
# built from raw edge rows, written from the SPEC's words alone (not from segc's SQL).
# stdin: {"as_of", "salt", "entity", "keys": [...], "kinds": {kind: {"normalize": [...], "exclude": [...]}},
#         "edges": [{"timestamp": bool, "ids": [kind...], "rows": [{"ids": [value|null...], "ts": iso|null}]}],
#         "erased": [[kind, value]...]}
# stdout: rows [kind, value, entity_key, status, distance, first_seen]
import hashlib
import json
import sys

import networkx as nx

spec = json.load(sys.stdin)
as_of = spec["as_of"]
kinds = spec["kinds"]


def norm(kind, v):
    if v is None:
        return None
    v = str(v)
    steps = kinds.get(kind, {}).get("normalize", [])
    for s in steps:
        if s == "trim":
            v = v.strip(" \t\r\n")
        elif s == "lowercase":
            v = "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in v)
    excl = set()
    for e in kinds.get(kind, {}).get("exclude", []):
        x = str(e)
        for s in steps:
            x = x.strip(" \t\r\n") if s == "trim" else "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in x)
        excl.add(x)
    if v == "" or v in excl:
        return None
    return v


keys = set(str(k) for k in spec["keys"] if k is not None)
G = nx.Graph()
first_seen = {}
for k in keys:
    G.add_node(("key", k))
for edge in spec["edges"]:
    for row in edge["rows"]:
        ts = row["ts"]
        if edge["timestamp"] and (ts is None or ts > as_of):
            continue
        nodes = []
        for kind, raw in zip(edge["ids"], row["ids"]):
            v = norm(kind, raw)
            if v is None or (kind == "key" and v not in keys):
                continue
            nodes.append((kind, v))
        for n in nodes:
            G.add_node(n)
            if ts is not None and edge["timestamp"]:
                first_seen[n] = min(first_seen.get(n, ts), ts)
        for i in range(len(nodes)):
            for j in range(i + 1, len(nodes)):
                if nodes[i] != nodes[j]:
                    G.add_edge(nodes[i], nodes[j])

erased = set((k, v) for k, v in spec.get("erased", []))
ERASED = object()
# the sources: every key node is its own profile; erased identifiers are one profile together
sources = {}
for n in G.nodes:
    if n in erased:
        sources[n] = ERASED
    elif n[0] == "key":
        sources[n] = n[1]

dist = {}  # node -> {profile: distance}
for s, label in sources.items():
    for n, d in nx.single_source_shortest_path_length(G, s).items():
        best = dist.setdefault(n, {})
        best[label] = min(best.get(label, d), d)

out = []
name = lambda n: n[0] + ":" + n[1]
for comp in nx.connected_components(G):
    keyed = [n for n in comp if n in dist]
    if not keyed:
        rep = min(comp, key=lambda n: (first_seen.get(n) is None, first_seen.get(n) or "", name(n).encode("utf-8")))
        key = "anon_" + hashlib.sha256((spec["salt"] + name(rep)).encode("utf-8")).hexdigest()[:32]
        for n in comp:
            out.append([n[0], n[1], key, "anonymous", None, first_seen.get(n)])
        continue
    for n in comp:
        d = min(dist[n].values())
        nearest = [p for p, x in dist[n].items() if x == d]
        if len(nearest) > 1:
            out.append([n[0], n[1], None, "ambiguous", d, first_seen.get(n)])
        elif nearest[0] is ERASED:
            continue
        else:
            out.append([n[0], n[1], nearest[0], "key" if d == 0 else "stitched", d, first_seen.get(n)])
out.sort(key=lambda r: (r[0], r[1]))
json.dump(out, sys.stdout)
