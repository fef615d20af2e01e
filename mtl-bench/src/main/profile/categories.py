"""Sums async-profiler's collapsed stacks of a side-by-side bench run per side and per category.

Usage: python3 categories.py FILE.collapsed

A sample belongs to the mtl4j side when its stack passes MultiTaskNetwork.fit, to the DL4J side when it passes
ComputationGraph.fit without it; only samples inside the bench's timed blocks count. The first matching rule
names a sample's category.
"""
import collections
import sys

RULES = [
    ("JavaCPP physicalBytes (reads the resident size)", lambda s, leaf: "physicalBytes" in s),
    ("matrix products (OpenBLAS gemm)", lambda s, leaf: "openblas" in s.lower() or "BaseLevel3" in s),
    ("oneDNN kernels", lambda s, leaf: "dnnl" in s or "[unknown]" == leaf and "libnd4jcpu" not in s),
    ("malloc, free, page faults", lambda s, leaf: any(k in leaf for k in ("malloc", "free", "_int_", "mmap", "brk"))),
    ("deallocation", lambda s, leaf: "Deallocator" in s or "deallocate" in s),
    ("shape information, TADs", lambda s, leaf: "createShapeInfo" in s or "ShapeInformation" in s or "TAD" in s),
    ("libnd4j element-wise, reductions, updaters", lambda s, leaf: "sd::" in s or "functions::" in s or "simdOps" in s
     or "Nd4jCpu." in s),
    ("mtl4j's own frames", lambda s, leaf: leaf.startswith("org/mtl4j/core")),
    ("other Java (JVM, DL4J and ND4J bookkeeping)", lambda s, leaf: True),
]


def main(path):
    sides = {"mtl4j": collections.Counter(), "dl4j": collections.Counter()}
    for line in open(path):
        stack, count = line.rstrip("\n").rsplit(" ", 1)
        if "CaseRunner$Sides.block" not in stack:
            continue
        if "MultiTaskNetwork.fit" in stack:
            side = "mtl4j"
        elif "ComputationGraph.fit" in stack:
            side = "dl4j"
        else:
            continue
        leaf = stack.split(";")[-1]
        for name, rule in RULES:
            if rule(stack, leaf):
                sides[side][name] += int(count)
                break
    for side, counts in sides.items():
        total = sum(counts.values())
        print(f"{side}: {total} samples")
        for name, c in counts.most_common():
            print(f"  {100.0 * c / max(total, 1):5.1f}%  {name}")


if __name__ == "__main__":
    main(sys.argv[1])
