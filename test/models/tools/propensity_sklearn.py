"""scikit-learn's ridge logistic regression as the oracle for segc's propensity fit.

Input (stdin, JSON): {"train": {"X": [[...]], "y": [...]}, "test": {"X": ..., "y": ...}, "l2": 1.0}
Output (stdout, JSON): the coefficients and intercept fitted on train, and the ROC AUC of that
model's probabilities on test (roc_auc_score: ties count one half).

sklearn minimizes C * sum(log-loss) + 0.5 * ||w||^2 with the intercept unpenalized (newton-cholesky: an exact Newton solver; lbfgs stops at its
function tolerance, about 1e-4 short of the optimum here),
which is SPEC §17's sum(log-loss) + l2/2 * ||w||^2 with C = 1 / l2.
"""
import json
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

data = json.load(sys.stdin)
X = np.array(data["train"]["X"], dtype=float)
y = np.array(data["train"]["y"], dtype=int)
model = LogisticRegression(C=1.0 / data["l2"], solver="newton-cholesky", tol=1e-12, max_iter=1000)
model.fit(X, y)
out = {"coefficients": model.coef_[0].tolist(), "intercept": float(model.intercept_[0])}
if "test" in data:
    Xt = np.array(data["test"]["X"], dtype=float)
    yt = np.array(data["test"]["y"], dtype=int)
    p = model.predict_proba(Xt)[:, 1]
    out["auc"] = float(roc_auc_score(yt, p))
    out["probabilities"] = p.tolist()
json.dump(out, sys.stdout)
