"""Independent BG/NBD and Gamma-Gamma predictions for the CDNOW sample with scipy (Debian's
python3-scipy). Shares no code with segc: reads the raw file itself, builds x, t_x, T and m_x
per customer, and evaluates the published closed forms with scipy.special.hyp2f1.

stdin: {"file", "as_of": "YYYY-MM-DD", "unit_days", "bgnbd": {r, alpha, a, b},
        "gamma_gamma": {p, q, gamma}, "horizon_days", "clv_days", "discount_rate"}
stdout: {customer id: {"p_alive", "expected_purchases", "expected_spend", "clv", "x", "t_x", "T", "m_x"}}
"""
import datetime
import json
import math
import sys

from scipy.special import hyp2f1

args = json.load(sys.stdin)
end = datetime.date.fromisoformat(args["as_of"])
unit = args["unit_days"]
until = datetime.date.fromisoformat(args["validate_until"]) if args.get("validate_until") else None
days = {}
after = {}
with open(args["file"]) as f:
    for line in f:
        parts = line.split()
        if not parts:
            continue
        cid, d, value = parts[1], datetime.datetime.strptime(parts[2], "%Y%m%d").date(), float(parts[4])
        if d > end:
            if until and d <= until:
                after.setdefault(cid, set()).add(d)
            continue
        days.setdefault(cid, {})
        days[cid][d] = days[cid].get(d, 0.0) + value

r, alpha, a, b = (args["bgnbd"][k] for k in ("r", "alpha", "a", "b"))
p, q, g = (args["gamma_gamma"][k] for k in ("p", "q", "gamma"))


def alive_odds(x, t_x, T):
    return 0.0 if x == 0 else a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x)


def expected(t, x, t_x, T):
    """Fader, Hardie & Lee (2005), eq. 10: E[Y(t) | x, t_x, T]."""
    if t == 0:
        return 0.0
    hyp = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
    first = (a + b + x - 1) / (a - 1)
    second = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp
    return first * second / (1 + alive_odds(x, t_x, T))


out = {}
for cid, byday in days.items():
    ds = sorted(byday)
    x = len(ds) - 1
    t_x = (ds[-1] - ds[0]).days / unit
    T = (end - ds[0]).days / unit
    m_x = sum(byday[d] for d in ds[1:]) / x if x > 0 else None
    spend = p * (g + x * (m_x or 0.0)) / (p * x + q - 1)
    monthly = (1 + args["discount_rate"]) ** (1 / 12) - 1
    n = math.ceil(args["clv_days"] / 30)
    clv = 0.0
    for i in range(1, n + 1):
        hi = min(30 * i, args["clv_days"]) / unit
        lo = min(30 * (i - 1), args["clv_days"]) / unit
        clv += (expected(hi, x, t_x, T) - expected(lo, x, t_x, T)) * spend / (1 + monthly) ** i
    out[cid] = {
        "x": x, "t_x": t_x, "T": T, "m_x": m_x,
        "p_alive": 1 / (1 + alive_odds(x, t_x, T)),
        "expected_purchases": expected(args["horizon_days"] / unit, x, t_x, T),
        "expected_spend": spend,
        "clv": clv,
    }
if until:
    # per x: customers, predicted repeat purchases over (as_of, until], actual transaction days there
    per_x = {}
    horizon = (until - end).days / unit
    for cid, byday in days.items():
        row = out[cid]
        v = per_x.setdefault(row["x"], {"customers": 0, "predicted": 0.0, "actual": 0})
        v["customers"] += 1
        v["predicted"] += expected(horizon, row["x"], row["t_x"], row["T"])
        v["actual"] += len(after.get(cid, ()))
    out = {"customers": out, "validation": {str(k): v for k, v in sorted(per_x.items())}}
json.dump(out, sys.stdout)
