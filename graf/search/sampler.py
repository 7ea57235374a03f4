"""An optuna sampler driven by one of our strategies: surrogate-guided NAS on any objective.

    import optuna
    from graf.search import SurrogateBO, proxy_prior, surrogate_features
    from graf.search.sampler import StrategySampler

    strategy = SurrogateBO(features=surrogate_features(("graf", "proxies")), prior=proxy_prior()[0], seed=0)
    sampler = StrategySampler(strategy)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(lambda trial: my_train_and_validate(sampler.arch(trial)), n_trials=20)

The space's categorical parameters (:meth:`graf.spaces.base.Space.parameters`, e.g. for NB201
``edge_0-1`` ... ``edge_2-3`` over the five ops) are sampled together by the strategy: each
trial gets the strategy's next ``ask()``, and each finished trial's value is told back
(negated when the study minimises). The objective may read the parameters with
``trial.suggest_categorical(name, choices)`` as usual or take the architecture with
:meth:`StrategySampler.arch`. A failed or pruned trial is dropped from the strategy's pending
asks. Parameters outside the space are sampled by ``independent_sampler`` (default: optuna's
RandomSampler). One study per sampler; multi-objective studies are not supported.

Where some assignments of the parameters are no architecture (NB101's edge bits), every
suggestion is still the strategy's own ask, so a cell; only a trial enqueued by hand with such
an assignment makes :meth:`StrategySampler.arch` raise
:class:`~graf.spaces.base.InvalidParameters`, and that failed trial is dropped as above.
"""

from __future__ import annotations

from typing import Any

from graf.optional import require

__all__ = ["StrategySampler"]

_optuna = require("optuna", needed_for="graf.search.sampler", install="pip install 'graf-nas[search]'")


class StrategySampler(_optuna.samplers.BaseSampler):
    """An optuna ``BaseSampler`` whose joint suggestions come from ``strategy`` (any of
    :mod:`graf.search.strategies` on a space with categorical parameters)."""

    def __init__(self, strategy, *, independent_sampler=None) -> None:
        self.strategy = strategy
        self.space = strategy.space
        self._parameters = self.space.parameters()
        self._distributions = {name: _optuna.distributions.CategoricalDistribution(list(choices))
                               for name, choices in self._parameters.items()}
        self._independent = independent_sampler or _optuna.samplers.RandomSampler(
            seed=int(strategy._rng.integers(2**31 - 1)))
        self._asked: dict[int, object] = {}

    def arch(self, trial) -> object:
        """The architecture of ``trial`` (suggesting every parameter of the space)."""
        values = {name: trial.suggest_categorical(name, list(choices)) for name, choices in self._parameters.items()}
        return self.space.from_parameters(values)

    # ------------------------------------------------------------------ optuna's sampler interface
    def infer_relative_search_space(self, study, trial) -> dict[str, Any]:
        return dict(self._distributions)

    def sample_relative(self, study, trial, search_space) -> dict[str, Any]:
        if not search_space:
            return {}
        if len(study.directions) > 1:
            raise ValueError("StrategySampler supports single-objective studies only")
        arch = self.strategy.ask()
        self._asked[trial.number] = arch
        values = self.space.to_parameters(arch)
        return {name: values[name] for name in search_space if name in values}

    def sample_independent(self, study, trial, param_name, param_distribution) -> Any:
        return self._independent.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study, trial, state, values) -> None:
        arch = self._asked.pop(trial.number, None)
        if arch is None:
            return
        if state == _optuna.trial.TrialState.COMPLETE and values:
            value = float(values[0])
            if study.direction == _optuna.study.StudyDirection.MINIMIZE:
                value = -value
            self.strategy.tell(arch, value)
        else:
            self.strategy.discard(arch)

    def reseed_rng(self) -> None:
        self._independent.reseed_rng()
