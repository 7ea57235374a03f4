"""Accuracy predictor: a scikit-learn tree-ensemble regressor, the GRAF evaluation protocol, SHAP.

``shap`` and ``matplotlib`` are imported only inside :mod:`graf.predictor.explain`'s functions.
"""

from graf.predictor.dataset import Dataset, available_targets, build_dataset, default_nets, parse_inputs, resolve_target
from graf.predictor.estimator import MODELS, GrafRegressor, kendall_tau_score
from graf.predictor.explain import explain, feature_family, shap_importances, shap_values
from graf.predictor.models import PREDICTORS, make_predictor, tuned_regressor
from graf.predictor.protocol import EvaluationResult, evaluate_predictor, parse_seeds, protocol_split, rank_metrics

__all__ = [
    "Dataset",
    "EvaluationResult",
    "GrafRegressor",
    "MODELS",
    "PREDICTORS",
    "available_targets",
    "build_dataset",
    "default_nets",
    "evaluate_predictor",
    "explain",
    "feature_family",
    "kendall_tau_score",
    "make_predictor",
    "parse_inputs",
    "parse_seeds",
    "protocol_split",
    "rank_metrics",
    "resolve_target",
    "shap_importances",
    "shap_values",
    "tuned_regressor",
]
