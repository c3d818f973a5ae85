"""The one pilot configuration: which arm a client is in, how many the optimizer contacts, what a contact costs.

Outside a pilot every list still carries a small permanent control group (5% by default),
never contacted, so that the model's effect can always be measured. A pilot sets its own
salt (the same client keeps its arm for the whole pilot, and a new pilot reshuffles) and
shares. The configuration is a JSON file named by ``RKO_PILOT_CONFIG``; without it the
permanent defaults apply.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from rko_model.errors import ConfigError

MODEL, RULES, CONTROL = "model", "rules", "control"
ARMS = (MODEL, RULES, CONTROL)
#: How reasons' contributions are computed (CatBoost's ``shap_calc_type``): "approximate" is
#: CatBoost's own path-based (Saabas-style) SHAP, additive like the exact one and several times
#: cheaper; "regular" is CatBoost's exact TreeSHAP (docs/reasons.md has the measured trade-off).
REASON_SHAP = {"approximate": "Approximate", "regular": "Regular"}

#: The two channels of the design doc.
BANNER, MANAGER = "banner", "manager"
CHANNELS = (BANNER, MANAGER)


@dataclass(frozen=True)
class PilotConfig:
    """Arm shares, contact volumes, costs and the effect the pilot should be able to detect.

    Attributes:
        name: the pilot's name (campaign ids start with it).
        salt: mixed into the hash of a client id; keep it for the whole pilot.
        model_share, rules_share, control_share: shares of the eligible clients per arm (sum 1).
        contact_share: share of each contacted arm that the optimizer contacts, best ranks first.
        manager_share: share of a month's contacts (the best ranks) that go to client managers;
            the rest get a banner.
        cost_per_contact: cost of one contact per channel, in roubles.
        reason_deciles: the deciles (1 = top) whose clients get reasons in the list.
        reason_shap: how their contributions are computed, a key of :data:`REASON_SHAP`.
        target_increment: the incremental 3-month conversion the pilot should detect (0.01 = 1 point).
    """

    name: str = "permanent"
    salt: str = "rko-permanent-control-v1"
    model_share: float = 0.95
    rules_share: float = 0.0
    control_share: float = 0.05
    contact_share: float = 0.3
    manager_share: float = 0.2
    cost_per_contact: dict[str, float] = field(default_factory=lambda: {BANNER: 15.0, MANAGER: 600.0})
    reason_deciles: int = 3
    reason_shap: str = "approximate"
    target_increment: float = 0.01

    def __post_init__(self) -> None:
        shares = (self.model_share, self.rules_share, self.control_share)
        if any(s < 0 for s in shares) or not math.isclose(sum(shares), 1.0, abs_tol=1e-9):
            raise ConfigError(f"pilot {self.name}: arm shares {shares} must be non-negative and sum to 1")
        for name in ("contact_share", "manager_share"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"pilot {self.name}: {name} {value} is not a share between 0 and 1")
        unknown = set(self.cost_per_contact) - set(CHANNELS)
        if unknown or any(v < 0 for v in self.cost_per_contact.values()):
            raise ConfigError(
                f"pilot {self.name}: cost_per_contact needs non-negative costs of the channels {CHANNELS}, "
                f"got {self.cost_per_contact}"
            )
        if not 0 <= self.reason_deciles <= 10:
            raise ConfigError(f"pilot {self.name}: reason_deciles {self.reason_deciles} is not between 0 and 10")
        if self.reason_shap not in REASON_SHAP:
            raise ConfigError(
                f"pilot {self.name}: reason_shap {self.reason_shap!r} is not one of {sorted(REASON_SHAP)}"
            )
        if self.target_increment <= 0:
            raise ConfigError(f"pilot {self.name}: target_increment must be positive")
        if not self.salt:
            raise ConfigError(f"pilot {self.name}: the salt must not be empty")

    @property
    def shares(self) -> dict[str, float]:
        return {MODEL: self.model_share, RULES: self.rules_share, CONTROL: self.control_share}

    def cost(self, channel: str) -> float:
        return float(self.cost_per_contact.get(channel, 0.0))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_pilot_config(path: Path | None) -> PilotConfig:
    """The configuration in ``path`` (JSON), or the permanent control's defaults when None."""
    if path is None:
        return PilotConfig()
    try:
        values = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"RKO_PILOT_CONFIG: cannot read pilot configuration {path}: {exc}") from exc
    known = {f.name for f in fields(PilotConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"RKO_PILOT_CONFIG: {path} has unknown keys {unknown}; known: {sorted(known)}")
    return PilotConfig(**values)
