"""tierflow's benchmarks: `python -m bench --clients N` (bench/__main__.py) and the scripts
beside it. Figures are printed, never asserted in tests."""
