"""vibn: a declarative infrastructure reconciler for agent-built SaaS products.

The repository root is this package (see pyproject's package-dir); the layers are
cli/api -> reconciler -> providers | state -> specs.
"""

__version__ = "0.1.0"
