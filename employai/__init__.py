"""The application: the per-call runtime and the bot process (`runtime/`), the operator's commands (`cli/`), and
the measurement harness (`harness/`)."""

import os

# NumPy's OpenBLAS spins a thread per core waiting for work. Beside Whisper, llama.cpp and PJSIP on a small machine
# those threads fight for the cores: MiniLM on a dozen sentences took 9 s instead of 0.1 s on 2 busy cores. The
# matrices here are small, so one thread is also the fastest when the machine is idle. Set before NumPy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
