# lit configuration of the knet compiler tests (tests/lit/*/).
#
# Substitutions: %knet-opt, %knet-translate, %knetc, FileCheck, not, count;
# features:
#   nvrtc        the CUDA toolkit's NVRTC library is present (no GPU needed)
#   cuda-device  a GPU answers `nvidia-smi -L`
#   fake-cuda    the host stand-in for the CUDA plugin was built
# A test that REQUIRES a missing feature is reported UNSUPPORTED, not passed.
import glob
import os
import shutil
import subprocess

import lit.formats

config.name = "knet"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".cpp", ".test"]
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)

site = getattr(config, "knet_obj_root", None)
if site is None:
    lit_config.fatal("run lit on the build tree (build/tests/lit), where "
                     "CMake generated lit.site.cfg.py")
config.test_exec_root = os.path.join(config.knet_obj_root, "tests", "lit")

# Tools: ours first, then LLVM's (FileCheck, not, count).
path = [config.knet_tools_dir, config.llvm_tools_dir,
        config.environment.get("PATH", os.environ.get("PATH", ""))]
config.environment["PATH"] = os.pathsep.join(path)
# The sanitizers' options (make test-sanitize) reach the tools too.
for var in ["HOME", "TMPDIR", "KNET_CACHE_DIR", "CUDA_HOME", "CUDA_PATH",
            "LD_LIBRARY_PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS",
            "LSAN_OPTIONS"]:
    if var in os.environ:
        config.environment[var] = os.environ[var]


def tool(name):
    return os.path.join(config.knet_tools_dir, name)


config.substitutions.append(("%knet-opt", tool("knet-opt")))
config.substitutions.append(("%knet-translate", tool("knet-translate")))
config.substitutions.append(("%knetc", tool("knetc")))
config.substitutions.append(("%knet_src", config.knet_src_root))
config.substitutions.append(("%knet_build", config.knet_obj_root))
config.substitutions.append(("%cxx", config.cxx_compiler))
for name in ["FileCheck", "not", "count"]:
    exe = os.path.join(config.llvm_tools_dir, name)
    if not os.path.exists(exe):
        lit_config.fatal("missing LLVM tool " + exe)

if os.path.exists(tool("knetc")):
    config.available_features.add("knetc")

# nvrtc: the toolkit's NVRTC library (compiling CUDA C needs no GPU).
cuda = config.cuda_root if config.cuda_root and "NOTFOUND" not in \
    config.cuda_root else "/usr/local/cuda"
nvrtc = glob.glob(os.path.join(cuda, "lib64", "libnvrtc.so*")) + \
    glob.glob(os.path.join(cuda, "lib", "x86_64-linux-gnu", "libnvrtc.so*")) + \
    glob.glob("/usr/lib/x86_64-linux-gnu/libnvrtc.so*")
if nvrtc:
    config.available_features.add("nvrtc")

# fake-cuda: the host stand-in for the CUDA plugin (tests/unit/
# fake_cuda_plugin.cpp), which runs the runtime's GPU path on the CPU.
fake = os.path.join(config.knet_lib_dir, "fake", "libknet_fake_cuda.so")
if os.path.exists(fake):
    config.available_features.add("fake-cuda")
    config.substitutions.append(("%knet_fake_cuda", fake))

# cuda-device: a GPU is visible.
smi = shutil.which("nvidia-smi")
if smi:
    try:
        out = subprocess.run([smi, "-L"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, timeout=30)
        if out.returncode == 0 and out.stdout.strip():
            config.available_features.add("cuda-device")
    except (OSError, subprocess.SubprocessError):
        pass
