"""benchmarks.detection: examples to first detection, rendered before and after."""

from __future__ import annotations

from benchmarks.detection import FRAGILE, compare, render


def _data(label: str, per_seed: dict[str, int | None]) -> dict[str, object]:
    hits = [n for n in per_seed.values() if n is not None]
    row = {
        "automation": "fragile_duplicate",
        "per_seed": per_seed,
        "median": sorted(hits)[len(hits) // 2] if len(hits) == len(per_seed) else None,
        "missed": [int(s) for s, n in per_seed.items() if n is None],
    }
    return {"examples": 100, "seeds": [1, 2, 3], "classes": {"duplicate_effect": row}, "label": label}


def test_every_fragile_class_is_measured_once() -> None:
    assert sorted(FRAGILE.values()) == sorted(set(FRAGILE.values()))


def test_compare_shows_both_medians_and_the_seeds_missed() -> None:
    before = _data("before", {"1": 12, "2": None, "3": 3})
    after = _data("after", {"1": 1, "2": 1, "3": 1})
    text = compare(before, after)
    assert "| duplicate_effect | fragile_duplicate | - (missed at seed 2) | 1 |" in text
    assert "| class | automation | before | after |" in text
    assert "| duplicate_effect | fragile_duplicate | 1 | 1, 1, 1 | none |" in render(after, "after")
