// Row-major batched gemm on cuBLAS (column-major).
//
// A row-major matrix X (rows x cols, row stride ld) has the memory of the
// column-major X^T (cols x rows, leading dimension ld). So the row-major
// C = op(A) op(B) is the column-major C^T = op(B)^T op(A)^T: cuBLAS is
// called with the operands swapped, (op_b, op_a, n, m, k, B, ldb, A, lda).
#include "plugin.h"

#include <algorithm>
#include <climits>

namespace knet::cuda_plugin {

namespace {

// cuBLAS checks ld >= max(1, cols) even where the matrix has one row or
// none (ld never read); raise such an ld to what cuBLAS accepts.
int64_t fix_ld(int64_t rows, int64_t cols, int64_t ld) {
  if (rows <= 1 || cols == 0)
    return std::max<int64_t>({ld, cols, 1});
  return ld;
}

bool fits_int(int64_t v) { return v >= INT_MIN && v <= INT_MAX; }

} // namespace

int gemm(int dev, int dtype, int trans_a, int trans_b, int64_t m, int64_t n,
         int64_t k, double alpha, const void *a, int64_t lda, int64_t stride_a,
         const void *b, int64_t ldb, int64_t stride_b, double beta, void *c,
         int64_t ldc, int64_t stride_c, int64_t batch, int allow_tf32) {
  return guarded([&] {
    if (m < 0 || n < 0 || k < 0 || batch < 0)
      fail("gemm: negative size m=" + std::to_string(m) +
           " n=" + std::to_string(n) + " k=" + std::to_string(k) +
           " batch=" + std::to_string(batch));
    if (m == 0 || n == 0 || batch == 0)
      return;
    cudaDataType type;
    cublasComputeType_t compute;
    switch (dtype) {
    case f32:
      type = CUDA_R_32F;
      compute = allow_tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
      break;
    case f64:
      type = CUDA_R_64F;
      compute = CUBLAS_COMPUTE_64F;
      break;
    case f16:
      type = CUDA_R_16F;
      compute = CUBLAS_COMPUTE_32F;
      break;
    case bf16:
      type = CUDA_R_16BF;
      compute = CUBLAS_COMPUTE_32F;
      break;
    default:
      fail(std::string("gemm: unsupported dtype ") + dtype_name(dtype));
    }
    // Stored shapes (row-major): A is k x m when transposed, else m x k.
    lda = trans_a ? fix_ld(k, m, lda) : fix_ld(m, k, lda);
    ldb = trans_b ? fix_ld(n, k, ldb) : fix_ld(k, n, ldb);
    ldc = fix_ld(m, n, ldc);
    // Scaling factors are host values of the compute type.
    const float alpha_f = static_cast<float>(alpha),
                beta_f = static_cast<float>(beta);
    const void *alpha_p = dtype == f64 ? static_cast<const void *>(&alpha)
                                       : static_cast<const void *>(&alpha_f);
    const void *beta_p = dtype == f64 ? static_cast<const void *>(&beta)
                                      : static_cast<const void *>(&beta_f);
    const cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
    const cublasOperation_t op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;

    DeviceState &d = use_device(dev);
    cublasHandle_t h = blas_of(d);
    std::lock_guard<std::mutex> lock(d.blas_mu);
    if (fits_int(m) && fits_int(n) && fits_int(k) && fits_int(lda) &&
        fits_int(ldb) && fits_int(ldc) && fits_int(batch)) {
      check(cublasGemmStridedBatchedEx(h, op_b, op_a, int(n), int(m), int(k),
                                       alpha_p, b, type, int(ldb), stride_b, a,
                                       type, int(lda), stride_a, beta_p, c,
                                       type, int(ldc), stride_c, int(batch),
                                       compute, CUBLAS_GEMM_DEFAULT),
            "cublasGemmStridedBatchedEx");
    } else {
      check(cublasGemmStridedBatchedEx_64(
                h, op_b, op_a, n, m, k, alpha_p, b, type, ldb, stride_b, a,
                type, lda, stride_a, beta_p, c, type, ldc, stride_c, batch,
                compute, CUBLAS_GEMM_DEFAULT),
            "cublasGemmStridedBatchedEx_64");
    }
  });
}

} // namespace knet::cuda_plugin
