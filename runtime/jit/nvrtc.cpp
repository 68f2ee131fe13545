// NVRTC loaded with dlopen; see nvrtc.h.
#include "jit/nvrtc.h"

#include <knet/error.h>

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

namespace knet::jit {

namespace {

// The subset of nvrtc.h this file uses, declared here so that building needs
// no CUDA headers. The ABI has been stable since CUDA 11.
using nvrtcResult = int;
constexpr nvrtcResult NVRTC_SUCCESS = 0;
using nvrtcProgram = struct _nvrtcProgram *;

using nvrtcVersion_t = nvrtcResult (*)(int *major, int *minor);
using nvrtcCreateProgram_t = nvrtcResult (*)(nvrtcProgram *prog,
                                             const char *src, const char *name,
                                             int num_headers,
                                             const char *const *headers,
                                             const char *const *include_names);
using nvrtcCompileProgram_t = nvrtcResult (*)(nvrtcProgram prog,
                                              int num_options,
                                              const char *const *options);
using nvrtcGetProgramLogSize_t = nvrtcResult (*)(nvrtcProgram prog,
                                                 size_t *size);
using nvrtcGetProgramLog_t = nvrtcResult (*)(nvrtcProgram prog, char *log);
using nvrtcGetCUBINSize_t = nvrtcResult (*)(nvrtcProgram prog, size_t *size);
using nvrtcGetCUBIN_t = nvrtcResult (*)(nvrtcProgram prog, char *cubin);
using nvrtcDestroyProgram_t = nvrtcResult (*)(nvrtcProgram *prog);
using nvrtcGetErrorString_t = const char *(*)(nvrtcResult result);

struct Nvrtc {
  void *handle = nullptr;
  std::string library;    // what was loaded
  std::string load_error; // why nothing was, when handle is null
  std::string version;    // "13.0"
  nvrtcVersion_t version_fn = nullptr;
  nvrtcCreateProgram_t create_program = nullptr;
  nvrtcCompileProgram_t compile_program = nullptr;
  nvrtcGetProgramLogSize_t get_program_log_size = nullptr;
  nvrtcGetProgramLog_t get_program_log = nullptr;
  nvrtcGetCUBINSize_t get_cubin_size = nullptr;
  nvrtcGetCUBIN_t get_cubin = nullptr;
  nvrtcDestroyProgram_t destroy_program = nullptr;
  nvrtcGetErrorString_t get_error_string = nullptr;
};

std::vector<std::string> candidates() {
  std::vector<std::string> paths;
  if (const char *env = std::getenv("KNET_NVRTC_LIBRARY"); env && *env)
    paths.emplace_back(env);
  paths.emplace_back("libnvrtc.so.13");
  paths.emplace_back("libnvrtc.so");
  std::vector<std::string> dirs;
  if (const char *home = std::getenv("CUDA_HOME"); home && *home)
    dirs.push_back(std::string(home) + "/lib64");
  dirs.emplace_back("/usr/local/cuda/lib64");
  for (const auto &dir : dirs) {
    paths.push_back(dir + "/libnvrtc.so.13");
    paths.push_back(dir + "/libnvrtc.so");
  }
  // Without repeats ($CUDA_HOME is often /usr/local/cuda), in order.
  std::vector<std::string> unique;
  for (const auto &p : paths)
    if (std::find(unique.begin(), unique.end(), p) == unique.end())
      unique.push_back(p);
  return unique;
}

template <class F> bool bind(void *handle, F &fn, const char *symbol) {
  fn = reinterpret_cast<F>(dlsym(handle, symbol));
  return fn != nullptr;
}

// Tries one library; fills `n` and returns true if it has every function.
bool try_load(Nvrtc &n, const std::string &path, std::string &why) {
  dlerror();
  void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *err = dlerror();
    why = err ? err : "dlopen failed";
    if (why.compare(0, path.size(), path) != 0) // dlerror() may name it
      why = path + ": " + why;
    return false;
  }
  Nvrtc t;
  t.handle = handle;
  bool all = bind(handle, t.version_fn, "nvrtcVersion") &&
             bind(handle, t.create_program, "nvrtcCreateProgram") &&
             bind(handle, t.compile_program, "nvrtcCompileProgram") &&
             bind(handle, t.get_program_log_size, "nvrtcGetProgramLogSize") &&
             bind(handle, t.get_program_log, "nvrtcGetProgramLog") &&
             bind(handle, t.get_cubin_size, "nvrtcGetCUBINSize") &&
             bind(handle, t.get_cubin, "nvrtcGetCUBIN") &&
             bind(handle, t.destroy_program, "nvrtcDestroyProgram") &&
             bind(handle, t.get_error_string, "nvrtcGetErrorString");
  int major = 0, minor = 0;
  if (!all) {
    why = path + ": not NVRTC (a required nvrtc* function is missing)";
  } else if (t.version_fn(&major, &minor) != NVRTC_SUCCESS) {
    why = path + ": nvrtcVersion failed";
    all = false;
  }
  if (!all) {
    dlclose(handle);
    return false;
  }
  t.version = std::to_string(major) + "." + std::to_string(minor);
  t.library = path;
  n = t;
  return true;
}

// Loaded once per process, on first use.
const Nvrtc &nvrtc() {
  static const Nvrtc n = [] {
    Nvrtc r;
    std::string tried;
    for (const auto &path : candidates()) {
      std::string why;
      if (try_load(r, path, why))
        return r;
      tried += "\n  " + why;
    }
    r.load_error =
        "jit: cannot load NVRTC, the CUDA run-time compiler (libnvrtc.so.13 "
        "from the CUDA 13 toolkit). Tried:" +
        tried +
        "\nInstall the CUDA toolkit, or set KNET_NVRTC_LIBRARY to the path "
        "of libnvrtc.so (e.g. "
        "KNET_NVRTC_LIBRARY=/usr/local/cuda/lib64/libnvrtc.so.13), or "
        "CUDA_HOME to the toolkit's directory.";
    return r;
  }();
  return n;
}

const Nvrtc &loaded() {
  const Nvrtc &n = nvrtc();
  if (!n.handle)
    throw Error(n.load_error);
  return n;
}

std::string error_string(const Nvrtc &n, nvrtcResult r) {
  const char *s = n.get_error_string(r);
  return (s ? std::string(s) : std::string("NVRTC error")) + " (" +
         std::to_string(r) + ")";
}

} // namespace

bool nvrtc_available() { return nvrtc().handle != nullptr; }

std::string nvrtc_version() { return loaded().version; }

std::string nvrtc_library() { return nvrtc().library; }

NvrtcResult nvrtc_compile(const std::string &source, const std::string &name,
                          const std::string &arch,
                          const std::vector<std::string> &options) {
  const Nvrtc &n = loaded();
  NvrtcResult out;

  std::vector<std::string> opts = {"--gpu-architecture=" + arch,
                                   "-default-device", "--std=c++17"};
  opts.insert(opts.end(), options.begin(), options.end());
  std::vector<const char *> argv;
  argv.reserve(opts.size());
  for (const auto &o : opts)
    argv.push_back(o.c_str());

  // NVRTC is thread-safe for distinct programs; each call owns its program.
  nvrtcProgram prog = nullptr;
  const std::string file =
      (name.empty() ? std::string("kernel") : name) + ".cu";
  nvrtcResult r = n.create_program(&prog, source.c_str(), file.c_str(), 0,
                                   nullptr, nullptr);
  if (r != NVRTC_SUCCESS) {
    out.log = "nvrtcCreateProgram failed: " + error_string(n, r);
    return out;
  }
  struct Destroy {
    const Nvrtc &n;
    nvrtcProgram &p;
    ~Destroy() { n.destroy_program(&p); }
  } destroy{n, prog};

  nvrtcResult compiled =
      n.compile_program(prog, static_cast<int>(argv.size()), argv.data());

  size_t log_size = 0;
  if (n.get_program_log_size(prog, &log_size) == NVRTC_SUCCESS &&
      log_size > 1) {
    std::string log(log_size, '\0');
    if (n.get_program_log(prog, log.data()) == NVRTC_SUCCESS) {
      log.resize(log.find('\0') == std::string::npos ? log.size()
                                                     : log.find('\0'));
      out.log = std::move(log);
    }
  }
  auto fail = [&](const std::string &what) {
    if (!out.log.empty() && out.log.back() != '\n')
      out.log += '\n';
    out.log += what;
    out.cubin.clear();
    return out;
  };
  if (compiled != NVRTC_SUCCESS)
    return fail("nvrtcCompileProgram failed: " + error_string(n, compiled));

  size_t cubin_size = 0;
  r = n.get_cubin_size(prog, &cubin_size);
  if (r != NVRTC_SUCCESS)
    return fail("nvrtcGetCUBINSize failed: " + error_string(n, r));
  if (cubin_size == 0)
    return fail("NVRTC produced no cubin for --gpu-architecture=" + arch +
                ": a cubin needs a real architecture such as sm_80, not a "
                "virtual one (compute_80)");
  out.cubin.resize(cubin_size);
  r = n.get_cubin(prog, out.cubin.data());
  if (r != NVRTC_SUCCESS)
    return fail("nvrtcGetCUBIN failed: " + error_string(n, r));
  out.ok = true;
  return out;
}

} // namespace knet::jit
