"""scikit-learn's KMeans (Debian's python3-sklearn) on the same points, from segc's initial
centroids: KMeans(init=..., n_init=1, algorithm="lloyd", tol=0). Standardizes the raw features
itself with numpy (population mean and deviation).

stdin: {"points": [[...], ...] raw features, "initial": [[...]] standardized, "standardize": bool}
stdout: {"means", "stddevs", "centroids" (standardized), "labels" (0-based, sklearn order)}
"""
import json
import sys

import numpy as np
from sklearn.cluster import KMeans

args = json.load(sys.stdin)
X = np.array(args["points"], dtype=float)
if args["standardize"]:
    means = X.mean(axis=0)
    stds = X.std(axis=0)
    stds[stds == 0] = 1.0
else:
    means = np.zeros(X.shape[1])
    stds = np.ones(X.shape[1])
Z = (X - means) / stds
init = np.array(args["initial"], dtype=float)
km = KMeans(n_clusters=len(init), init=init, n_init=1, algorithm="lloyd", tol=0, max_iter=100).fit(Z)
json.dump({"means": means.tolist(), "stddevs": stds.tolist(), "centroids": km.cluster_centers_.tolist(), "labels": km.labels_.tolist(), "iterations": int(km.n_iter_)}, sys.stdout)
