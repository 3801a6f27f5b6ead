"""Picklable task functions for the executor tests (workers import them by name; Ray
workers get them by value)."""

from __future__ import annotations

import os
import time

import numpy as np


def bootstrap_chunk(task: tuple[int, int]) -> np.ndarray:
    """A seeded chunk of bootstrap means: deterministic floats, to compare byte for byte."""
    seed, n_boot = task
    rng = np.random.default_rng(seed)
    data = np.linspace(0.0, 1.0, 50) ** 2
    idx = rng.integers(0, data.size, size=(n_boot, data.size))
    return data[idx].mean(axis=1)


def slow_square(x: int) -> int:
    """Later tasks finish first, so results must be put back in task order."""
    time.sleep(0.05 * (4 - x % 4))
    return x * x


def fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("task 3 failed")
    return x


def make_state() -> dict:
    return {"pid": os.getpid(), "calls": 0, "offset": 100}


def use_state(state: dict, x: int) -> tuple[int, int, int]:
    state["calls"] += 1
    return state["pid"], state["calls"], state["offset"] + x
