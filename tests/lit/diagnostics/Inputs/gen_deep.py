"""Writes deep.*.cpp inputs for deep-nesting.test into the given folder:
depth that the user's code controls, 10,000 levels."""
import os
import sys

n = 10000
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
head = "#include <knet/knet.h>\nusing namespace knet;\n"


def write(name, body):
    with open(os.path.join(out, name), "w") as f:
        f.write(head + body)


# A sum of 10,001 terms: an expression tree 10,000 deep (no brackets).
write("chain.cpp", "KNET_COMPILE Tensor chain(const Tensor &x) {\n"
      "  return sum(x" + " + x" * n + ");\n}\n")
# A scalar product of 10,001 factors.
write("scalar.cpp", "KNET_COMPILE Tensor scalar(const Tensor &x, double a) {\n"
      "  double s = a" + " * 1.0001" * n + ";\n  return sum(x * s);\n}\n")
# A ?: chain 10,000 deep.
write("cond.cpp", "KNET_COMPILE Tensor cond(const Tensor &x, int k) {\n"
      "  return sum(" + "".join(f"k == {i} ? x * {i}.0 : " for i in range(n)) +
      "x);\n}\n")
# 10,000 nested ifs (braces would hit Clang's own -fbracket-depth first).
write("ifs.cpp", "KNET_COMPILE Tensor ifs(Tensor x, int k) {\n" +
      "".join(f"  if (k > {i})\n" for i in range(n)) +
      "  x = x * 2.0;\n  return sum(x);\n}\n")
