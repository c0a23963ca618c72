"""The memory a worker reports: its cgroup's charge in a pod (what the OOM killer sees), PSS elsewhere."""

from __future__ import annotations

from pathlib import Path

from wbsupply.worker.health import cgroup_memory_bytes, pod_memory_bytes, tree_pss


def cgroup(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def test_cgroup_v2_working_set_leaves_out_inactive_file_cache(tmp_path: Path) -> None:
    root = cgroup(tmp_path, {"memory.max": "805306368\n", "memory.current": "600000000\n",
                             "memory.stat": "anon 400000000\nfile 200000000\ninactive_file 150000000\n"})
    assert cgroup_memory_bytes(root) == 450_000_000


def test_cgroup_v1_is_read_too(tmp_path: Path) -> None:
    root = cgroup(tmp_path, {"memory/memory.limit_in_bytes": "805306368", "memory/memory.usage_in_bytes": "500000000",
                             "memory/memory.stat": "cache 1\ntotal_inactive_file 100000000\n"})
    assert cgroup_memory_bytes(root) == 400_000_000


def test_no_limit_no_cgroup_figure(tmp_path: Path) -> None:
    unlimited = cgroup(tmp_path / "v2", {"memory.max": "max\n", "memory.current": "1\n", "memory.stat": ""})
    assert cgroup_memory_bytes(unlimited) is None
    v1 = cgroup(tmp_path / "v1", {"memory/memory.limit_in_bytes": str(2**63 - 4096),
                                  "memory/memory.usage_in_bytes": "1", "memory/memory.stat": ""})
    assert cgroup_memory_bytes(v1) is None
    assert cgroup_memory_bytes(tmp_path / "missing") is None


def test_pod_memory_is_the_cgroup_figure_or_the_tree_pss() -> None:
    charged = cgroup_memory_bytes()
    expected = charged if charged is not None else tree_pss()
    assert abs(pod_memory_bytes() - expected) < 64 * 2**20
