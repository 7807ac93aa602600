"""Registries of named things (kernels, similarity measures): one source of the names a
parameter accepts, of its error message and of the documentation's table."""

import pandas as pd

__all__ = ["Registry"]


class Registry:
    """Entries by canonical name and by alias.

    Parameters
    ----------
    entries : iterable
        Objects with a ``name`` (canonical) and ``aliases`` (tuple of str) attribute.
    parameter : str
        The name of the parameter that takes these names, for error messages.
    """

    def __init__(self, entries, *, parameter):
        self.entries = {entry.name: entry for entry in entries}
        self.by_name = {
            **{alias: entry for entry in self.entries.values() for alias in entry.aliases},
            **self.entries,
        }
        self.parameter = parameter

    def names(self, *, aliases=False):
        """Sorted canonical names (and aliases)."""
        return sorted(self.by_name if aliases else self.entries)

    def get(self, name, *, parameter=None, owner=None):
        """The entry named ``name``, or a ValueError in scikit-learn's words listing the names."""
        try:
            return self.by_name[name]
        except (KeyError, TypeError):
            where = f" of {owner}" if owner else ""
            raise ValueError(
                f"The '{parameter or self.parameter}' parameter{where} must be a str among "
                f"{self.names(aliases=True)}. Got {name!r} instead."
            ) from None

    def table(self, row, *, index):
        """A DataFrame of ``row(entry)`` dicts, one per entry, indexed by the column ``index``."""
        return pd.DataFrame([row(entry) for entry in self.entries.values()]).set_index(index)
