"""A seeded, vectorised generator of the synthetic bank, month by month.

:func:`generate` yields ``(table name, DataFrame)`` chunks so that the I/O layer can load a
bank of a million clients with flat memory: one month of rows is alive at a time. Each month
draws from its own random stream (seed, month, purpose), so the same seed gives the same
bank whatever the chunking.

How a client behaves: hidden traits (activity, digital affinity, growth, importer,
own-funds transfers, marketplace sales, payroll, card acquiring, a slowly moving intent)
drive the observable tables; the same traits, plus profile effects with interactions,
drive the monthly hazard of opening RKO. The truth table keeps, for every active client
without RKO at a month end, ``1 - (1 - h)^3``: the probability of opening within 3 months.
The hazard table keeps, for every active client at a month end, the hazard ``h`` the next
month's opening is actually drawn from (for the oracle ceiling over the real window months).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rko_model import columns as col
from rko_model.common.dates import add_months, month_ends
from rko_model.synth import catalog
from rko_model.synth.contacts import ContactBook, ContactPlan
from rko_model.synth.history import AttributeHistory, draw_history
from rko_model.synth.spec import BankSpec, Effects

log = logging.getLogger(__name__)

CLIENT_ID_OFFSET = 10_000_000
_DAY = np.timedelta64(1, "D")
_FAR = np.datetime64("2999-12-31", "D")
_STREAMS = {
    "population": 0,
    "history": 1,
    "accounts": 2,
    "digital": 3,
    "payments": 4,
    "events": 5,
    "hidden": 6,
    "attributes": 7,
}

Chunk = tuple[str, pd.DataFrame]


def _rng(spec: BankSpec, stream: str, month: int = -1) -> np.random.Generator:
    return np.random.default_rng([spec.seed, _STREAMS[stream], month + 1])


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _days(dates: np.ndarray) -> pd.Series:
    return pd.Series(dates.astype("datetime64[s]"))


@dataclass
class _Population:
    """Traits of every client, as parallel arrays.

    All static but ``segment``, ``industry`` and ``region``, which follow the attribute
    history month by month (:meth:`AttributeHistory.apply`): they hold what the bank has
    recorded by the month being generated.
    """

    client_id: np.ndarray
    segment: np.ndarray
    legal_form: np.ndarray
    industry: np.ndarray  # index into catalog.INDUSTRIES
    region: np.ndarray  # index into catalog.REGIONS
    registration: np.ndarray  # datetime64[D]
    liquidation: np.ndarray  # datetime64[D], _FAR when active
    headcount: np.ndarray
    activity: np.ndarray
    digital: np.ndarray
    growth: np.ndarray  # monthly log-growth of turnover
    importer: np.ndarray
    own_transfer: np.ndarray
    marketplace: np.ndarray
    acquiring: np.ndarray
    payroll: np.ndarray
    hidden: np.ndarray
    topic_cdf: np.ndarray  # [clients, topics] cumulative payment-topic mixture

    @property
    def size(self) -> int:
        return len(self.client_id)


def _draw_population(spec: BankSpec, fx: Effects, start: np.datetime64) -> _Population:
    rng = _rng(spec, "population")
    n = spec.n_clients
    segment = rng.choice(np.array(["SMB", "MID", "LARGE"]), size=n, p=[0.85, 0.10, 0.05])
    smb = segment == "SMB"
    legal_form = np.where(
        smb,
        rng.choice(np.array(["ИП", "ООО", "АО"]), size=n, p=[0.48, 0.49, 0.03]),
        rng.choice(np.array(["ООО", "АО", "ПАО"]), size=n, p=[0.6, 0.3, 0.1]),
    )
    weights = np.array([i.weight for i in catalog.INDUSTRIES])
    industry = rng.choice(len(weights), size=n, p=weights / weights.sum())
    region_w = np.array([r[1] for r in catalog.REGIONS])
    region = rng.choice(len(region_w), size=n, p=region_w / region_w.sum())

    end = start + np.timedelta64(int(spec.n_months * 30.44), "D")
    age_days = rng.exponential(6 * 365.0, size=n).astype(np.int64) + 30
    registration = start - age_days * _DAY
    newcomers = rng.random(n) < 0.10
    registration[newcomers] = start + rng.integers(0, max(1, int(spec.n_months * 30.44) - 95), newcomers.sum()) * _DAY
    liquidated = rng.random(n) < fx.liquidated_share
    earliest = np.maximum(registration + 60 * _DAY, start - 180 * _DAY)
    span = np.maximum((end - earliest) // _DAY, 1)
    liquidation = np.where(liquidated, earliest + (rng.random(n) * span).astype(np.int64) * _DAY, _FAR)

    activity = rng.normal(size=n) + np.where(smb, 0.0, 1.5)
    base_heads = np.exp(1.0 + 0.6 * activity + rng.normal(0, 0.6, n))
    headcount = np.where(legal_form == "ИП", np.minimum(base_heads, 15), base_heads)
    headcount = np.where(
        segment == "MID", headcount + 100, np.where(segment == "LARGE", headcount * 20 + 250, headcount)
    )
    ind = catalog.INDUSTRIES
    p_import = np.array([i.p_import for i in ind])[industry]
    p_acq = np.array([i.p_acquiring for i in ind])[industry]
    p_mkt = np.array([i.p_marketplace for i in ind])[industry]
    importer = rng.random(n) < p_import
    acquiring = rng.random(n) < p_acq
    marketplace = rng.random(n) < p_mkt
    own_transfer = rng.random(n) < 0.12
    payroll = rng.normal(size=n) + 0.4 * np.log1p(headcount) - 0.8
    topic_cdf = _topic_mixture(n, importer, acquiring, marketplace, own_transfer, payroll, rng)
    return _Population(
        client_id=np.arange(n, dtype=np.int64) + CLIENT_ID_OFFSET,
        segment=segment,
        legal_form=legal_form,
        industry=industry,
        region=region,
        registration=registration,
        liquidation=liquidation,
        headcount=np.round(headcount).astype(np.int64) + 1,
        activity=activity,
        digital=rng.normal(size=n),
        growth=rng.normal(0.0, 0.025, n),
        importer=importer,
        own_transfer=own_transfer,
        marketplace=marketplace,
        acquiring=acquiring,
        payroll=payroll,
        hidden=rng.normal(0.0, fx.hidden_client_sd, n),
        topic_cdf=topic_cdf,
    )


def _topic_mixture(
    n: int,
    importer: np.ndarray,
    acquiring: np.ndarray,
    marketplace: np.ndarray,
    own_transfer: np.ndarray,
    payroll: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Per-client weights of payment topics; hidden traits raise their topics' shares."""
    t = catalog.TOPIC_INDEX
    w = np.zeros((n, len(catalog.TOPICS)), dtype=np.float32)
    w[:, t["supply"]] = 3.0 * rng.uniform(0.5, 1.5, n)
    w[:, t["services"]] = 2.0 * rng.uniform(0.5, 1.5, n)
    w[:, t["tax"]] = 1.2
    w[:, t["rent"]] = 0.8 * (rng.random(n) < 0.6)
    w[:, t["salary"]] = 1.6 * _sigmoid(2.0 * payroll)
    w[:, t["acquiring"]] = 2.0 * acquiring + 0.05
    w[:, t["import"]] = 3.0 * importer + 0.03
    w[:, t["own_transfer"]] = 3.0 * own_transfer + 0.08
    w[:, t["loan"]] = 0.4
    w[:, t["utilities"]] = 0.5
    w[:, t["marketplace"]] = 3.0 * marketplace + 0.02
    w[:, t["leasing"]] = 0.3 * (rng.random(n) < 0.2)
    cdf = np.cumsum(w, axis=1)
    return cdf / cdf[:, -1:]


def _clients_frame(pop: _Population, history: AttributeHistory) -> pd.DataFrame:
    """The registration record with the attributes' current values (those at the end of the data)."""
    n = pop.size
    regions = np.array([r[0] for r in catalog.REGIONS])[pop.region]
    sole = pop.legal_form == "ИП"
    i = np.arange(n, dtype=np.int64)
    # Bijections modulo 10^8 and 10^10 keep INNs unique without drawing a permutation.
    inn_legal = pd.Series(regions).str.cat(pd.Series((i * 48271 + 1_000_003) % 10**8).astype(str).str.zfill(8))
    inn_sole = pd.Series(regions).str.cat(pd.Series((i * 48271 + 7_000_001) % 10**10).astype(str).str.zfill(10))
    inn = np.where(sole, inn_sole, inn_legal)
    current = history.current()
    return pd.DataFrame(
        {
            "client_id": pop.client_id,
            "inn": inn,
            "legal_form": pop.legal_form,
            "okved_code": current["okved_code"],
            "region_code": current["region_code"],
            "registration_date": _days(pop.registration),
            "liquidation_date": pd.Series(
                np.where(pop.liquidation == _FAR, np.datetime64("NaT"), pop.liquidation)
            ).astype("datetime64[s]"),
            "segment": current["segment"],
            "headcount": current["headcount"],
            "declared_revenue": current["declared_revenue"],
        }
    )


class _Events:
    """Product events decided so far; closing dates are drawn when a product opens."""

    def __init__(self) -> None:
        self.frames: list[pd.DataFrame] = []

    def add(self, client_id: np.ndarray, product: str, opened: np.ndarray, closed: np.ndarray) -> None:
        if len(client_id) == 0:
            return
        self.frames.append(
            pd.DataFrame(
                {
                    "client_id": client_id,
                    "product": product,
                    "open_date": _days(opened),
                    "close_date": _days(np.where(closed >= _FAR, np.datetime64("NaT"), closed)),
                }
            )
        )

    def frame(self, last_day: np.datetime64) -> pd.DataFrame:
        events = pd.concat(self.frames, ignore_index=True)
        events = events[events["open_date"] <= pd.Timestamp(last_day)]
        late_close = events["close_date"] > pd.Timestamp(last_day)
        events.loc[late_close, "close_date"] = pd.NaT
        return events.sort_values(["client_id", "open_date", "product"], kind="stable").reset_index(drop=True)


#: Payment topics whose presence in a client's recent payments moves the propensity.
KEY_TOPICS = ("import", "own_transfer", "marketplace", "salary", "acquiring")
_KEY_TOPIC_IDS = np.array([catalog.TOPIC_INDEX[k] for k in KEY_TOPICS])


class _Seen:
    """What the bank has seen of each client lately: the only inputs of the hazard besides the profile.

    Hidden traits drive behaviour; the hazard reads the behaviour as the bank records it, so
    the true propensity is learnable from the warehouse (up to a small hidden part).
    """

    def __init__(self, n: int) -> None:
        self.turnover = np.full((n, 12), np.nan)  # monthly incoming turnover, NaN without a row; newest last
        self.clicks = np.zeros((n, 3))
        self.app = np.zeros((n, 3))
        self.topics = np.zeros((n, 3, len(KEY_TOPICS)), dtype=np.int16)
        self.outgoing = np.zeros((n, 3), dtype=np.int16)

    def push(
        self, turnover: np.ndarray, clicks: np.ndarray, app: np.ndarray, topics: np.ndarray, outgoing: np.ndarray
    ) -> None:
        """Forget the oldest month and add the month just generated."""
        buffers = (self.turnover, self.clicks, self.app, self.topics, self.outgoing)
        for buffer, latest in zip(buffers, (turnover, clicks, app, topics, outgoing), strict=True):
            buffer[:, :-1] = buffer[:, 1:]
            buffer[:, -1] = latest

    def turnover_means(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean monthly turnover over the months with rows: last 3 and last 12 months (NaN when none)."""
        with np.errstate(invalid="ignore"):
            recent = np.nansum(self.turnover[:, -3:], axis=1) / np.sum(np.isfinite(self.turnover[:, -3:]), axis=1)
            year = np.nansum(self.turnover, axis=1) / np.sum(np.isfinite(self.turnover), axis=1)
        return recent, year

    def topic_counts(self) -> dict[str, np.ndarray]:
        """Payments of each key topic over the last 3 months."""
        counts = self.topics.sum(axis=1)
        return {name: counts[:, i] for i, name in enumerate(KEY_TOPICS)}


def generate(spec: BankSpec, fx: Effects | None = None, contacts: ContactPlan | None = None) -> Iterator[Chunk]:
    """Yield the synthetic bank's tables in chunks: clients, then month by month, then product events.

    ``contacts`` says how the bank answers marketing contacts and which were made
    (:mod:`rko_model.synth.contacts`); by default the old rules process contacts every month.
    """
    fx = fx or Effects()
    ends = month_ends(spec.last_month, spec.n_months)
    start = np.datetime64(add_months(ends[0], -1) + dt.timedelta(days=1), "D")
    last_day = np.datetime64(ends[-1], "D")
    pop = _draw_population(spec, fx, start)
    history = draw_history(pop, ends, lambda t: _rng(spec, "attributes", t))
    yield "clients", _clients_frame(pop, history)
    book = ContactBook(pop.client_id, ends, spec.seed, contacts)

    events = _Events()
    rko_until, holdings = _history(pop, spec, fx, start, events)
    intent = _rng(spec, "hidden").normal(size=pop.size)
    hazard = np.zeros(pop.size)
    seen = _Seen(pop.size)
    eligible_prev = np.zeros(pop.size, dtype=bool)
    payment_id = 0
    for t, end in enumerate(ends):
        first = np.datetime64(end.replace(day=1), "D")
        stop = np.datetime64(end, "D")
        days = int((stop - first) // _DAY) + 1
        rng_events = _rng(spec, "events", t)
        if t > 0:
            _open_rko(pop, rng_events, eligible_prev, hazard, first, days, rko_until, events)
        _open_other_products(pop, rng_events, first, days, stop, holdings, events)
        active = (pop.registration <= stop) & (pop.liquidation >= first)
        history.apply(pop, t)
        intent = 0.9 * intent + 0.44 * _rng(spec, "hidden", t).normal(size=pop.size)

        accounts, turnover = _accounts(pop, spec, t, end, active)
        yield "account_monthly", accounts
        digital, clicks, app = _digital(pop, spec, t, end, active, intent)
        yield "digital_activity", digital
        pays, topics, outgoing = _payments(pop, spec, t, end, first, days, active, payment_id)
        payment_id += len(pays)
        yield "payments", pays
        seen.push(turnover, clicks, app, topics, outgoing)

        held = rko_until > stop
        eligible_prev = active & ~held & (pop.liquidation > stop)
        hazard = _hazard(pop, fx, t, end, stop, seen, holdings, _rng(spec, "hidden", 1000 + t))
        hazard, contact_chunks = book.month(t, hazard, eligible_prev, pop, seen, holdings)
        yield from contact_chunks
        truth = 1.0 - (1.0 - hazard[eligible_prev]) ** col.LABEL_HORIZON_MONTHS
        yield (
            "synthetic_truth",
            pd.DataFrame(
                {"client_id": pop.client_id[eligible_prev], "month_end": pd.Timestamp(end), "propensity": truth}
            ).astype({"month_end": "datetime64[s]"}),
        )
        alive = active & (pop.liquidation > stop)
        yield (
            "synthetic_hazard",
            pd.DataFrame(
                {"client_id": pop.client_id[alive], "month_end": pd.Timestamp(end), "hazard": hazard[alive]}
            ).astype({"month_end": "datetime64[s]"}),
        )
        log.info("synthetic bank: month %s done (%d/%d)", end.isoformat(), t + 1, len(ends))
    yield "product_events", events.frame(last_day)
    yield "client_attributes", history.rows()


def _history(
    pop: _Population, spec: BankSpec, fx: Effects, start: np.datetime64, events: _Events
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Products held when the data starts: RKO for a share of clients, some closed before."""
    rng = _rng(spec, "history")
    n = pop.size
    established = pop.registration < start - 30 * _DAY
    tenure = np.maximum((start - pop.registration) // _DAY, 1)
    opened = pop.registration + (rng.random(n) * tenure).astype(np.int64) * _DAY
    share = np.where(pop.segment == "SMB", fx.initial_rko_share, 0.7)
    holds = established & (rng.random(n) < share)
    rko_until = np.full(n, np.datetime64("1900-01-01", "D"))
    rko_until[holds] = _FAR
    events.add(pop.client_id[holds], col.RKO_PRODUCT, opened[holds], np.full(holds.sum(), _FAR))
    # A few clients closed an RKO before the data starts: they are eligible again.
    closed_before = established & ~holds & (rng.random(n) < 0.05)
    closed_at = np.minimum(opened + rng.integers(60, 900, n) * _DAY, start - _DAY)
    ok = closed_before & (closed_at > opened)
    events.add(pop.client_id[ok], col.RKO_PRODUCT, opened[ok], closed_at[ok])

    holdings: dict[str, np.ndarray] = {}
    share_by_product = {
        "DEPOSIT": 0.12 * _sigmoid(pop.activity) * 2,
        "CREDIT": np.full(n, 0.10),
        "CORP_CARD": 0.12 * _sigmoid(pop.digital) * 2,
        "ACQUIRING": np.where(pop.acquiring, 0.35, 0.01),
        "SALARY_PROJECT": 0.25 * _sigmoid(2 * pop.payroll),
    }
    for product, p in share_by_product.items():
        has = established & (rng.random(n) < p)
        until = np.full(n, np.datetime64("1900-01-01", "D"))
        until[has] = _FAR
        holdings[product] = until
        product_opened = pop.registration + (rng.random(n) * tenure).astype(np.int64) * _DAY
        events.add(pop.client_id[has], product, product_opened[has], np.full(has.sum(), _FAR))
    return rko_until, holdings


def _open_rko(
    pop: _Population,
    rng: np.random.Generator,
    eligible: np.ndarray,
    hazard: np.ndarray,
    first: np.datetime64,
    days: int,
    rko_until: np.ndarray,
    events: _Events,
) -> None:
    """Clients eligible at the previous month end open RKO this month with their hazard."""
    draw = rng.random(pop.size) < hazard
    opens = eligible & draw & (pop.liquidation >= first + days * _DAY)
    k = int(opens.sum())
    opened = first + rng.integers(0, days, k) * _DAY
    closes = rng.random(k) < 0.04
    closed = np.where(closes, opened + rng.integers(90, 600, k) * _DAY, _FAR)
    rko_until[opens] = closed
    events.add(pop.client_id[opens], col.RKO_PRODUCT, opened, closed)


def _open_other_products(
    pop: _Population,
    rng: np.random.Generator,
    first: np.datetime64,
    days: int,
    stop: np.datetime64,
    holdings: dict[str, np.ndarray],
    events: _Events,
) -> None:
    alive = (pop.registration <= stop) & (pop.liquidation > stop)
    for product, until in holdings.items():
        opens = alive & (until <= first) & (rng.random(pop.size) < 0.004)
        k = int(opens.sum())
        opened = first + rng.integers(0, days, k) * _DAY
        closed = np.where(rng.random(k) < 0.3, opened + rng.integers(180, 1100, k) * _DAY, _FAR)
        until[opens] = closed
        events.add(pop.client_id[opens], product, opened, closed)


def _season(end: dt.date) -> float:
    return 0.12 * np.sin(2 * np.pi * (end.month - 3) / 12) + (0.25 if end.month == 12 else 0.0)


def _log_turnover(pop: _Population, t: int, end: dt.date) -> np.ndarray:
    return 12.5 + 1.1 * pop.activity + pop.growth * t + _season(end)


def _accounts(
    pop: _Population, spec: BankSpec, t: int, end: dt.date, active: np.ndarray
) -> tuple[pd.DataFrame, np.ndarray]:
    rng = _rng(spec, "accounts", t)
    rows = active & (rng.random(pop.size) > 0.07)  # dormant months leave no row
    idx = np.flatnonzero(rows)
    k = len(idx)
    turnover_in = np.exp(_log_turnover(pop, t, end)[idx] + rng.normal(0, 0.3, k)) * (1 + rng.pareto(3.0, k))
    turnover_out = turnover_in * np.exp(rng.normal(-0.04, 0.25, k))
    balance = turnover_in * np.exp(rng.normal(-1.3, 0.8, k))
    balance[rng.random(k) < 0.03] = np.nan
    seen = np.full(pop.size, np.nan)
    seen[idx] = turnover_in
    frame = pd.DataFrame(
        {
            "client_id": pop.client_id[idx],
            "month_end": pd.Timestamp(end),
            "avg_balance": np.round(balance, 2),
            "turnover_in": np.round(turnover_in, 2),
            "turnover_out": np.round(turnover_out, 2),
        }
    ).astype({"month_end": "datetime64[s]"})
    return frame, seen


def _digital(
    pop: _Population, spec: BankSpec, t: int, end: dt.date, active: np.ndarray, intent: np.ndarray
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = _rng(spec, "digital", t)
    idx = np.flatnonzero(active)
    adoption = 0.03 * t  # drift: the bank's app gains users month by month
    app = rng.poisson(np.exp(0.6 + 1.0 * pop.digital[idx] + adoption + 0.15 * intent[idx]))
    web = rng.poisson(np.exp(0.3 + 0.5 * pop.digital[idx] - 0.5 * adoption + 0.3 * intent[idx]))
    views = rng.poisson((0.5 * app + 0.3 * web + 0.3) * np.exp(0.3 * intent[idx]))
    clicks = rng.binomial(views, _sigmoid(-3.0 + 1.2 * intent[idx]))
    keep = (app + web + views) > 0
    seen_clicks, seen_app = np.zeros(pop.size), np.zeros(pop.size)
    seen_clicks[idx], seen_app[idx] = clicks, app
    frame = pd.DataFrame(
        {
            "client_id": pop.client_id[idx][keep],
            "month_end": pd.Timestamp(end),
            "app_sessions": app[keep],
            "web_sessions": web[keep],
            "banner_views": views[keep],
            "banner_clicks": clicks[keep],
        }
    ).astype({"month_end": "datetime64[s]"})
    return frame, seen_clicks, seen_app


def _purpose_texts(end: dt.date) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every purpose text of a month: (texts, first template of each topic, templates per topic)."""
    texts: list[str] = []
    offsets, counts = [], []
    month = catalog.MONTH_NAMES[end.month - 1]
    for _, _, templates in catalog.TOPICS:
        offsets.append(len(texts) // len(catalog.SUFFIXES))
        counts.append(len(templates))
        for template in templates:
            texts.extend(template + s.format(month=month) for s in catalog.SUFFIXES)
    return np.array(texts, dtype=object), np.array(offsets), np.array(counts)


_TOPIC_OUT = np.array([p for _, p, _ in catalog.TOPICS])
_TOPIC_SCALE = np.array([1.0, 0.5, 0.3, 0.4, 1.2, 0.2, 3.0, 1.5, 2.0, 0.15, 0.8, 0.6])
_TAX_OFFICE_INN = "7727406020"


def _payments(
    pop: _Population,
    spec: BankSpec,
    t: int,
    end: dt.date,
    first: np.datetime64,
    days: int,
    active: np.ndarray,
    first_id: int,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = _rng(spec, "payments", t)
    counts = np.where(active, np.minimum(rng.poisson(np.exp(0.45 + 0.45 * pop.activity + _season(end))), 40), 0)
    idx = np.repeat(np.arange(pop.size), counts)
    k = len(idx)
    topic = (pop.topic_cdf[idx] < rng.random(k)[:, None]).sum(axis=1)
    topic = np.minimum(topic, len(catalog.TOPICS) - 1)
    texts, offsets, per_topic = _purpose_texts(end)
    template = offsets[topic] + (rng.random(k) * per_topic[topic]).astype(np.int64)
    suffix = rng.choice(len(catalog.SUFFIXES), size=k, p=[0.55, 0.2, 0.15, 0.1])
    purpose = texts[template * len(catalog.SUFFIXES) + suffix]
    purpose[rng.random(k) < 0.01] = None
    log_size = 10.3 + 0.8 * pop.activity[idx] + np.log(_TOPIC_SCALE[topic])
    amount = np.round(np.exp(log_size + rng.normal(0, 0.9, k)) * (1 + rng.pareto(2.2, k)), 2)
    outgoing = rng.random(k) < _TOPIC_OUT[topic]
    counterparty = ((idx * 131 + rng.geometric(0.3, k)) % 50_000) * 7919 % 10**8
    cp_inn = pd.Series(counterparty).astype(str).str.zfill(8).radd("50").to_numpy(dtype=object)
    cp_inn[topic == catalog.TOPIC_INDEX["tax"]] = _TAX_OFFICE_INN
    cp_inn[topic == catalog.TOPIC_INDEX["salary"]] = None
    day = rng.integers(0, days, k)
    order = np.lexsort((idx, day))  # ids follow the calendar, as a bank's would
    seen = np.zeros((pop.size, len(KEY_TOPICS)), dtype=np.int16)
    for i, topic_id in enumerate(_KEY_TOPIC_IDS):
        seen[:, i] = np.bincount(idx[(topic == topic_id) & (purpose != None)], minlength=pop.size)  # noqa: E711
    frame = pd.DataFrame(
        {
            "payment_id": np.arange(first_id, first_id + k, dtype=np.int64) + 1,
            "client_id": pop.client_id[idx[order]],
            "payment_date": _days(first + day[order] * _DAY),
            "amount": amount[order],
            "direction": np.where(outgoing[order], "out", "in"),
            "counterparty_inn": cp_inn[order],
            "purpose": purpose[order],
        }
    )
    return frame, seen, np.bincount(idx[outgoing], minlength=pop.size).astype(np.int16)


def _age_effect(age_months: np.ndarray) -> np.ndarray:
    """Non-linear in age: newborns wait, the first years shop for a bank, old firms stay put."""
    return np.select(
        [age_months < 3, age_months < 12, age_months < 36, age_months < 120],
        [-0.2, 0.9, 0.5, 0.0],
        default=-0.35,
    )


def _hazard(
    pop: _Population,
    fx: Effects,
    t: int,
    end: dt.date,
    stop: np.datetime64,
    seen: _Seen,
    holdings: dict[str, np.ndarray],
    rng: np.random.Generator,
) -> np.ndarray:
    """Monthly probability of opening RKO next month, from the profile and what the bank has seen."""
    ind = catalog.INDUSTRIES
    industry_effect = np.array([i.effect for i in ind])[pop.industry]
    region_effect = np.array([r[2] for r in catalog.REGIONS])[pop.region]
    capital = np.isin(np.array([r[0] for r in catalog.REGIONS])[pop.region], catalog.CAPITALS)
    retail = np.array([i.p_acquiring > 0.5 for i in ind])[pop.industry]
    it = np.array([i.code[:2] in ("62", "63") for i in ind])[pop.industry]
    age_months = (stop - pop.registration) // _DAY / 30.44
    recent, year = seen.turnover_means()
    size = np.log1p(np.nan_to_num(recent, nan=0.0))
    ratio = np.where(np.isfinite(recent) & (year > 0), recent / np.where(year > 0, year, 1.0), 1.0)
    topics = seen.topic_counts()
    clicks_3m = seen.clicks.sum(axis=1)
    logit = (
        fx.base
        + fx.drift_per_month * t
        + fx.season[end.month - 1]
        + np.where(pop.segment == "SMB", 0.0, fx.non_smb)
        + np.where(pop.legal_form == "ИП", fx.sole_trader, 0.0)
        + np.where(np.isin(pop.legal_form, ["АО", "ПАО"]), fx.joint_stock, 0.0)
        + industry_effect
        + region_effect
        + fx.capital_retail * (capital & retail)
        + fx.young_it * (it & (age_months < 36))
        + _age_effect(age_months)
        + fx.size_hump * (np.exp(-(((size - 13.3) / 1.0) ** 2)) - 0.5) * (size > 0)
        + fx.growth * ((ratio > 1.25) - 0.5 * (ratio < 0.8))
        + fx.importer * (topics["import"] > 0)
        + fx.own_transfer * (topics["own_transfer"] > 0)
        + fx.marketplace * (topics["marketplace"] > 0)
        + fx.payroll * (topics["salary"] >= 2)
        + fx.acquiring * (topics["acquiring"] > 0)
        + fx.payment_activity * (seen.outgoing.sum(axis=1) >= 6)
        + fx.intent * ((clicks_3m > 0) + 0.5 * (clicks_3m >= 3))
        + fx.digital_affinity * np.log1p(seen.app.sum(axis=1)) / 3
        + fx.has_credit * (holdings["CREDIT"] > stop)
        + fx.has_deposit * (holdings["DEPOSIT"] > stop)
        + fx.pre_liquidation * (pop.liquidation - stop < 180 * _DAY)
        + pop.hidden
        + rng.normal(0.0, fx.hidden_month_sd, pop.size)
    )
    return _sigmoid(logit)
