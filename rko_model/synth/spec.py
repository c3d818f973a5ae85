"""What to generate (the bank's size and seed) and how the hidden propensity is made."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from rko_model.errors import InvalidInputError

#: The default last month: fixed, so that the same seed gives the same bank on any day.
DEFAULT_LAST_MONTH = dt.date(2026, 10, 31)


@dataclass(frozen=True)
class BankSpec:
    """Size, seed and time span of a synthetic bank."""

    n_clients: int
    n_months: int
    seed: int = 42
    last_month: dt.date = DEFAULT_LAST_MONTH

    def __post_init__(self) -> None:
        if self.n_clients < 1:
            raise InvalidInputError(f"--clients must be at least 1, got {self.n_clients}")
        if self.n_months < 4:
            raise InvalidInputError(
                f"--months must be at least 4 (one report month plus a 3-month label window), got {self.n_months}"
            )


@dataclass(frozen=True)
class Effects:
    """Coefficients of a client's monthly log-odds of opening RKO in the next month.

    The signal is spread over every source on purpose: profile (age, legal form, industry,
    region and their interactions), account aggregates (a size hump, recent growth),
    payment purposes (imports, own-funds transfers, marketplace sales, payroll, acquiring in
    the last 3 months), digital activity (recent banner clicks, app use) and products held.
    Hidden traits drive behaviour; the hazard reads the behaviour the bank records, so it is
    learnable. ``hidden_*`` and ``pre_liquidation`` are seen by no feature.
    """

    base: float = -6.25
    drift_per_month: float = 0.008
    non_smb: float = -0.6
    sole_trader: float = -0.25
    joint_stock: float = 0.15
    capital_retail: float = 0.6
    young_it: float = 0.7
    size_hump: float = 1.3
    growth: float = 0.9
    importer: float = 1.2
    own_transfer: float = 1.4
    marketplace: float = 1.0
    payroll: float = 0.7
    acquiring: float = 0.5
    payment_activity: float = 0.5
    digital_affinity: float = 0.2
    intent: float = 1.0
    has_credit: float = 0.3
    has_deposit: float = 0.15
    pre_liquidation: float = -0.5
    hidden_client_sd: float = 0.15
    hidden_month_sd: float = 0.1
    #: Share of active SMB clients already holding RKO when the data starts.
    initial_rko_share: float = 0.35
    liquidated_share: float = 0.05

    #: Seasonality of the log-odds by calendar month (January first).
    season: tuple[float, ...] = (0.25, 0.15, 0.1, 0.0, -0.1, -0.2, -0.25, -0.15, 0.1, 0.05, 0.0, -0.1)
