"""``python -m bench``: the same as ``asn-monitor bench``."""

from monitor.cli.bench import bench_cmd

bench_cmd(prog_name="python -m bench")
