# LLVM, Clang and MLIR 19 from Debian. Debian also ships LLVM 14 configs in
# /usr/lib/cmake, so the 19 ones are named by path.
set(KNET_LLVM_ROOT /usr/lib/llvm-19 CACHE PATH "LLVM 19 install prefix")
find_package(LLVM REQUIRED CONFIG PATHS ${KNET_LLVM_ROOT}/lib/cmake/llvm
             NO_DEFAULT_PATH)
find_package(MLIR REQUIRED CONFIG PATHS ${KNET_LLVM_ROOT}/lib/cmake/mlir
             NO_DEFAULT_PATH)
find_package(Clang REQUIRED CONFIG PATHS ${KNET_LLVM_ROOT}/lib/cmake/clang
             NO_DEFAULT_PATH)
message(STATUS "knet: LLVM ${LLVM_PACKAGE_VERSION} at ${LLVM_DIR}")

list(APPEND CMAKE_MODULE_PATH ${MLIR_CMAKE_DIR} ${LLVM_CMAKE_DIR})
include(TableGen)
include(AddLLVM)
include(AddMLIR)
