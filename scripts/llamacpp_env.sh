#!/usr/bin/env bash
# Create (or reuse) the Python reference venv: llama-cpp-python built from source + gguf + numpy + regex.
# Prints the venv's python path as the last line of stdout. Usage:
#   PY=$(scripts/llamacpp_env.sh | tail -1); "$PY" scripts/bench_llamacpp.py --model ... --ids-json '[...]'
# LIDIT_REF_VENV overrides the location (default ${XDG_CACHE_HOME:-$HOME/.cache}/lidit/venv-ref).
# The llama-cpp-python source build takes ~4 min on 2 cores (longer when the machine is busy).
set -euo pipefail
VENV="${LIDIT_REF_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/lidit/venv-ref}"
LLAMA_CPP_PYTHON_VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
PY="$VENV/bin/python"

if [ ! -x "$PY" ]; then
    echo "creating venv $VENV" >&2
    mkdir -p "$(dirname "$VENV")"
    python3 -m venv "$VENV"
fi
if ! "$PY" -c "import numpy, gguf, regex" 2>/dev/null; then
    "$PY" -m pip install -q numpy "gguf==0.19.0" regex >&2
fi
if ! "$PY" -c "import llama_cpp, sys; sys.exit(0 if llama_cpp.__version__ == '$LLAMA_CPP_PYTHON_VERSION' else 1)" 2>/dev/null; then
    echo "building llama-cpp-python $LLAMA_CPP_PYTHON_VERSION from source (several minutes)" >&2
    # --no-binary only for llama-cpp-python: ':all:' would also build cmake/ninja from source.
    CMAKE_ARGS="${CMAKE_ARGS:--DLLAVA_BUILD=OFF -DGGML_NATIVE=ON}" \
    CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" \
        "$PY" -m pip install -q "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" --no-binary llama-cpp-python >&2
fi
"$PY" -c "import llama_cpp, gguf, numpy; print('llama-cpp-python', llama_cpp.__version__, 'numpy', numpy.__version__)" >&2
echo "$PY"
