"""Independent lift statistics with scipy (Debian's python3-scipy): reads JSON count
tuples on stdin, writes rates, difference, 95% CI (unpooled) and pooled z-test p-values."""
import json
import math
import sys

from scipy.stats import norm

out = []
for members, conv_m, holdout, conv_h in json.load(sys.stdin):
    p1, p2 = conv_m / members, conv_h / holdout
    diff = p1 - p2
    se = math.sqrt(p1 * (1 - p1) / members + p2 * (1 - p2) / holdout)
    pooled = (conv_m + conv_h) / (members + holdout)
    z = diff / math.sqrt(pooled * (1 - pooled) * (1 / members + 1 / holdout))
    q = norm.ppf(0.975)
    out.append({"lift_abs": diff, "ci_low": diff - q * se, "ci_high": diff + q * se, "z": z, "p_value": 2 * norm.sf(abs(z))})
json.dump(out, sys.stdout)
