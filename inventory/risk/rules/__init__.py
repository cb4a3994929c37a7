"""Rule families, one small module each. Importing this package declares every rule in
`inventory.risk.registry`. Conditions are SQL over the facts row `f` (inventory.risk.facts).

Bits are fixed per rule and never reused (see registry): ownership 0-3, lifecycle 4-8,
dormancy 9-10, certificates and keys 11-13, privilege 14-16, authentication and
configuration 17-20, third parties 21-22, environment and reuse 23-24, human use 25-27,
zones 28, leakage 29, offboarding after a review 30.
"""

from inventory.risk.rules import (  # noqa: F401
    auth,
    certificates,
    dormancy,
    environment,
    human,
    leakage,
    lifecycle,
    ownership,
    privilege,
    thirdparty,
    zones,
)
