"""The pricing simulator: a past period's actual usage re-rated with a proposed price change,
before and after, without writing anything (docs/simulator.md)."""

from billing.simulation.results import Comparison, Mover, Simulation
from billing.simulation.schemas import SimulationIn
from billing.simulation.service import simulate

__all__ = ["Comparison", "Mover", "Simulation", "SimulationIn", "simulate"]
