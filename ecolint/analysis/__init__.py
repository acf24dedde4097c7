"""Static analysis of one module: scopes and name resolution, values, and the facts checks consume."""
