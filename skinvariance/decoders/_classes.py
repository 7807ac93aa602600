"""From logits to classes: what every classifier of the package whose model ends in logits
answers (one logit per row for two classes, as scikit-learn's linear models and MLPs, one per
class otherwise)."""

import numpy as np
from scipy.special import expit

from ._heads import softmax_inplace


class LogitsClassifierMixin:
    """``decision_function``, ``predict_proba``, ``predict_log_proba`` and ``predict``.

    The class provides ``classes_`` and ``_decision(X)``: the validated logits of ``X``, a
    new array of shape ``(n_samples, 1)`` for two classes or ``(n_samples, n_classes)``.
    """

    @staticmethod
    def _proba_from_decision(Z):
        if Z.shape[1] == 1:
            p = expit(Z[:, 0])
            return np.column_stack([1.0 - p, p])
        return softmax_inplace(Z)

    def _classes_from_decision(self, Z):
        """The most probable class of each row of the logits ``Z`` (in place)."""
        return self.classes_[np.argmax(self._proba_from_decision(Z), axis=1)]

    def decision_function(self, X):
        """The logits.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For two classes, one logit per row (positive favours ``classes_[1]``), as
            :class:`~sklearn.linear_model.LogisticRegression` returns; else one per class.
        """
        Z = self._decision(X)
        return Z[:, 0] if Z.shape[1] == 1 else Z

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``; of the dtype of the parameters.
        """
        return self._proba_from_decision(self._decision(X))

    def predict_log_proba(self, X):
        """Logarithms of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        return np.log(self.predict_proba(X))

    def predict(self, X):
        """The most probable class of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        return self._classes_from_decision(self._decision(X))
