"""An independent fit of the NBD model (Poisson purchases, gamma-distributed rates, nobody drops
out) with scipy (Debian's python3-scipy): the limit of BG/NBD as the dropout probability goes to
0. Shares no code with segc: builds x and T per customer from the raw purchase days itself.

Per customer, x = transaction days - 1 and T = (as_of - first transaction day) / unit; the
likelihood is that of x repeat purchases in T at a gamma(r, alpha)-mixed Poisson rate, in the form
BG/NBD's likelihood takes at a = 0 (Fader, Hardie & Lee 2005, eq. 6 with the dropout term gone):
  ln L = sum lgamma(r + x) - lgamma(r) + r ln(alpha) - (r + x) ln(alpha + T)

stdin:  {"customers": {id: [day, ...]}, "as_of_day": number, "unit_days": number}
stdout: {"r", "alpha", "log_likelihood", "n", "x": {id: x}, "T": {id: T}}
"""
import json
import math
import sys

import numpy as np
from scipy.optimize import minimize
from scipy.special import gammaln

args = json.load(sys.stdin)
unit = args["unit_days"]
xs, Ts = {}, {}
for cid, days in args["customers"].items():
    distinct = sorted(set(days))
    if not distinct:
        continue
    xs[cid] = len(distinct) - 1
    Ts[cid] = (args["as_of_day"] - distinct[0]) / unit
x = np.array(list(xs.values()), dtype=float)
T = np.array([Ts[c] for c in xs], dtype=float)


def nll(u):
    r, alpha = math.exp(u[0]), math.exp(u[1])
    return -np.sum(gammaln(r + x) - gammaln(r) + r * math.log(alpha) - (r + x) * np.log(alpha + T))


best = None
for start in ([0.0, math.log(max(T.mean(), 1e-6))], [-1.0, 0.0], [1.0, 2.0]):
    res = minimize(nll, start, method="Nelder-Mead", options={"xatol": 1e-12, "fatol": 1e-12, "maxiter": 200000, "maxfev": 200000})
    res = minimize(nll, res.x, method="BFGS", options={"gtol": 1e-10})
    if best is None or res.fun < best.fun:
        best = res
print(json.dumps({"r": math.exp(best.x[0]), "alpha": math.exp(best.x[1]), "log_likelihood": -best.fun, "n": len(xs), "x": xs, "T": Ts}))
