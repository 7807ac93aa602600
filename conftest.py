"""Test-session setup that must happen before scipy is imported."""

import os

# scikit-learn's estimator checks include check_array_api_input with the NumPy namespace;
# it needs scipy's array API mode, which is read once, at scipy's import.
os.environ.setdefault("SCIPY_ARRAY_API", "1")
