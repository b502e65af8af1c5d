"""Helpers shared by the benchmark scripts (each is run as `python benchmarks/NAME.py`, so this folder is on sys.path)."""

def status_mib(field: str) -> float:
    "A memory field of this process's /proc/self/status (e.g. 'VmRSS', 'VmHWM') in MiB (Linux)."
    for line in open('/proc/self/status'):
        if line.startswith(field + ':'): return int(line.split()[1]) / 1024
