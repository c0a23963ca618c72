"""`make bench`'s pieces: each benchmark's JSON line read back, one table, bench/results.json."""

from __future__ import annotations

from wbsupply.benchkit import BenchResult, parse_json_line, results_json, table


def sample() -> BenchResult:
    result = BenchResult("density", "2 cores")
    result.add("mb_per_seller_10_bots_10_per_pod", 53.8, "MB", target=60.0, founding=175.0)
    result.add("mb_per_seller_50_bots_10_per_pod", 61.2, "MB", target=60.0, founding=175.0)
    result.add("total_pss", 538.0, "MB")
    return result


def test_a_printed_result_is_read_back_from_its_last_line() -> None:
    printed = "\n".join([*sample().summary_lines(), sample().json_line()])
    assert parse_json_line(printed) == sample()


def test_one_table_shows_ours_the_founding_figure_and_the_target() -> None:
    lines = table([sample()])
    assert lines[0] == "| benchmark | figure | ours | founding design | target | |"
    assert lines[2] == "| density | mb_per_seller_10_bots_10_per_pod | 53.8 MB | 175 MB | 60 MB | meets |"
    assert lines[3].endswith("| MISSES |")
    assert lines[4] == "| density | total_pss | 538 MB | – | – |  |"
    assert results_json([sample()])["density"]["figures"]["total_pss"]["value"] == 538.0


def test_a_floor_target_is_judged_the_same_after_the_json_line() -> None:
    """`make bench` judges figures parsed back from each benchmark's JSON line: a rate above its floor meets it."""
    result = BenchResult("api_latency", "setup")
    result.add("achieved_rate", 198.1, "req/s", target=190.0, sense="min")
    result.add("dashboard_p99", 60.0, "ms", target=50.0)
    parsed = parse_json_line(result.json_line())
    assert parsed.figures["achieved_rate"].meets_target() is True
    assert parsed.figures["dashboard_p99"].meets_target() is False
    rows = [row for row in table([parsed]) if "achieved_rate" in row]
    assert rows and "meets" in rows[0] and "MISSES" not in rows[0]


def test_make_bench_writes_the_readmes_table_between_its_markers_only() -> None:
    from wbsupply.benchkit import README_BEGIN, README_END, readme_with_table

    result = BenchResult("matching", "2 cores")
    result.add("match_first_candidate", 4.4, "ms", target=20.0)
    readme = f"# Title\n\ntext before\n\n{README_BEGIN}\nold table\n{README_END}\n\ntext after\n"
    updated = readme_with_table(readme, [result], "2026-12-02 13:00 UTC")
    assert updated is not None and "old table" not in updated
    assert updated.startswith("# Title\n\ntext before\n\n") and updated.endswith(f"{README_END}\n\ntext after\n")
    assert "| matching | match_first_candidate | 4.4 ms | – | 20 ms | meets |" in updated
    assert "- `matching`: 2 cores" in updated and "2026-12-02 13:00 UTC" in updated
    assert readme_with_table(updated, [result], "later") == updated.replace("2026-12-02 13:00 UTC", "later")
    assert readme_with_table("# no markers\n", [result], "now") is None


def test_the_readme_has_the_bench_markers() -> None:
    from pathlib import Path

    from wbsupply.benchkit import README_BEGIN, README_END

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert readme.count(README_BEGIN) == 1 and readme.count(README_END) == 1
