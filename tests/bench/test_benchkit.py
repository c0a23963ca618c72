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
