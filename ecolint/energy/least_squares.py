"""Least squares without numpy: the normal equations with a tiny ridge, solved by Gauss-Jordan."""

from __future__ import annotations


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    n = len(vector)
    aug = [row[:] + [vector[i]] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(aug[r][col]))
        aug[col], aug[pivot] = aug[pivot], aug[col]
        if abs(aug[col][col]) < 1e-300:
            continue
        for r in range(n):
            if r != col and aug[r][col]:
                factor = aug[r][col] / aug[col][col]
                aug[r] = [a - factor * b for a, b in zip(aug[r], aug[col])]
    return [aug[i][n] / aug[i][i] if abs(aug[i][i]) > 1e-300 else 0.0 for i in range(n)]


def least_squares(features: list[list[float]], targets: list[float], ridge: float = 1e-6) -> list[float]:
    """Coefficients minimising squared error plus a tiny ridge (keeps unsupported columns at 0)."""
    n = len(features[0])
    normal = [
        [sum(row[i] * row[j] for row in features) + (ridge if i == j else 0.0) for j in range(n)] for i in range(n)
    ]
    rhs = [sum(row[i] * y for row, y in zip(features, targets)) for i in range(n)]
    return _solve(normal, rhs)
