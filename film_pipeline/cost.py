"""What a film costs: compute seconds per stage and per shot, priced per GPU-hour and CPU-hour.

Every materialization records the seconds its artifact took to make and the device it ran on
(a reused artifact carries the seconds of the render that made it). Two totals:
- *the film as it stands*: the current version of every asset and shot, what rendering it from
  scratch costs;
- *spent*: every render that actually ran (reuses cost nothing), the bill so far.
Prices come from FILM_GPU_HOUR_PRICE and FILM_CPU_HOUR_PRICE (USD; defaults below) or the
command line.
"""

import os
from collections import defaultdict
from dataclasses import dataclass, field

import dagster as dg

from film_pipeline.graph import ASSET_NAMES, is_per_shot
from film_pipeline.records import materializations

DEFAULT_GPU_HOUR = 2.00
DEFAULT_CPU_HOUR = 0.10


@dataclass(frozen=True)
class Prices:
    gpu_hour: float = DEFAULT_GPU_HOUR
    cpu_hour: float = DEFAULT_CPU_HOUR

    @classmethod
    def from_env(cls) -> "Prices":
        return cls(float(os.environ.get("FILM_GPU_HOUR_PRICE", DEFAULT_GPU_HOUR)),
                   float(os.environ.get("FILM_CPU_HOUR_PRICE", DEFAULT_CPU_HOUR)))

    def of(self, seconds: float, device: str) -> float:
        per_hour = self.gpu_hour if is_accelerator(device) else self.cpu_hour
        return seconds / 3600 * per_hour


def is_accelerator(device: str) -> bool:
    return str(device).split(":")[0] in ("cuda", "mps", "xpu", "gpu")


@dataclass
class Line:
    asset: str
    shot: str | None
    seconds: float
    device: str
    reused: bool
    usd: float


@dataclass
class CostReport:
    film: str
    prices: Prices
    current: list[Line] = field(default_factory=list)   # the latest materialization of each asset partition
    spent: list[Line] = field(default_factory=list)     # every materialization that rendered
    film_seconds: float = 0.0                            # the finished film's running time

    def totals(self, lines: list[Line]) -> dict:
        return {"seconds": round(sum(line.seconds for line in lines), 3), "usd": round(sum(line.usd for line in lines), 6)}

    def by(self, lines: list[Line], what: str) -> dict[str, dict]:
        groups: dict[str, list[Line]] = defaultdict(list)
        for line in lines:
            groups[getattr(line, what) or "film"].append(line)
        return {key: self.totals(group) for key, group in sorted(groups.items())}

    def per_finished_minute(self) -> float | None:
        return round(self.totals(self.current)["usd"] / (self.film_seconds / 60), 6) if self.film_seconds else None

    def as_dict(self) -> dict:
        return {
            "film": self.film, "prices": {"gpu_hour": self.prices.gpu_hour, "cpu_hour": self.prices.cpu_hour},
            "film_seconds": self.film_seconds,
            "current": {"total": self.totals(self.current), "per_stage": self.by(self.current, "asset"),
                        "per_shot": self.by(self.current, "shot"), "usd_per_finished_minute": self.per_finished_minute()},
            "spent": {"total": self.totals(self.spent), "per_stage": self.by(self.spent, "asset"),
                      "renders": len(self.spent)},
        }


def cost_report(instance: dg.DagsterInstance, graph, shots: list[str], prices: Prices) -> CostReport:
    report = CostReport(graph.slug, prices)
    for name in ASSET_NAMES:
        key = graph.key(name)
        partitions = shots if is_per_shot(name) else [None]
        for shot in partitions:
            record = instance.get_latest_data_version_record(key, False, shot)
            if record is not None:
                metadata = record.event_log_entry.asset_materialization.metadata
                report.current.append(_line(name, shot, metadata, prices))
                if name == "final_cut" and "duration_seconds" in metadata:
                    report.film_seconds = float(metadata["duration_seconds"].value)
        for record in materializations(instance, key):
            materialization = record.asset_materialization
            line = _line(name, materialization.partition, materialization.metadata, prices)
            if not line.reused:
                report.spent.append(line)
    return report


def _line(name: str, shot: str | None, metadata: dict, prices: Prices) -> Line:
    seconds = float(metadata["seconds"].value) if "seconds" in metadata else 0.0
    device = str(metadata["device"].value) if "device" in metadata else "cpu"
    reused = bool(metadata["reused"].value) if "reused" in metadata else False
    return Line(name, shot, seconds, device, reused, prices.of(seconds, device))
