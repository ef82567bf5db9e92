"""The measurement harness: benchmarks, the scripted test caller, evals."""
