"""The Python peers of the benchmark programs:

    python bench/py/peer.py <model> --impl torch|torch_compile|jax
                            [--data DIR] [--threads N] [--task train|ratio]
                            [the C++ program's options]

prints the same `@key=value` lines as bench/<knet|torch>/<model>.cpp, plus
`@compile_s` (compile and warm-up, outside `@train_s`) for torch_compile and
jax and `@first_loss`. bench/run.sh runs it from build-bench/venv.
"""

import os
import sys

MODELS = ("linreg", "softmax", "mlp", "lenet", "charlm", "rnnlm", "treenn")
IMPLS = ("torch", "torch_compile", "jax")


def main(argv):
    if len(argv) < 1 or argv[0] not in MODELS:
        sys.exit(f"usage: peer.py <{'|'.join(MODELS)}> --impl "
                 f"<{'|'.join(IMPLS)}> [--name value ...]")
    model = argv[0]
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import common

    args = common.Args(argv[1:])
    impl = args.str("impl", "")
    if impl not in IMPLS:
        sys.exit(f"peer.py: --impl must be one of {', '.join(IMPLS)}")
    n = common.threads(args)
    for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[v] = str(n)
    if impl == "jax":
        # XLA's CPU backend: no Eigen thread pool for one thread; with more,
        # the pool run.sh's CPU affinity allows.
        flags = os.environ.get("XLA_FLAGS", "")
        if n == 1:
            flags += " --xla_cpu_multi_thread_eigen=false"
            flags += " intra_op_parallelism_threads=1"
        os.environ["XLA_FLAGS"] = flags.strip()
        os.environ["JAX_PLATFORMS"] = "cpu"
    if model in ("softmax", "mlp", "lenet"):
        import mnist_models

        mnist_models.run(args, impl, model)
    else:
        __import__(model).run(args, impl)


if __name__ == "__main__":
    main(sys.argv[1:])
