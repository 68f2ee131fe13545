// Exits 0 when loss runs compiled and its gradients match finite differences.
#include "model.h"

#include <iostream>

using namespace knet;

int main() {
  seed(1);
  Model m{param({4, 3}, xavier_uniform(), DType::f64),
          param({3}, gaussian(0, 0.1), DType::f64)};
  Tensor x = randn({5, 4}, DType::f64);
  GradcheckResult r = gradcheck(loss, m, x, 0.5);
  std::cout << "compiled " << is_compiled(loss) << ", gradcheck "
            << (r.ok ? "ok" : "FAILED") << " (max rel error " << r.max_rel_error
            << ")\n";
  return is_compiled(loss) && r.ok ? 0 : 1;
}
