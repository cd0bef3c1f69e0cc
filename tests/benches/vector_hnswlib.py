"""The hnswlib side of `cargo bench -p strata-tests --bench vector`.

Reads the base and query vectors the Rust benchmark wrote (raw little-endian f32), builds
an hnswlib index with the same parameters on one thread, then times batch queries at each
ef on 1 and 2 threads. Prints one JSON object: build seconds, peak RSS, and per ef the QPS
and the ids found (recall is computed by the Rust side against its own ground truth).

usage: vector_hnswlib.py BASE QUERIES DIM M EF_CONSTRUCTION K EF[,EF...]
"""

import json
import resource
import sys
import time

import hnswlib
import numpy as np

REPEATS = 5


def main():
    base_path, query_path = sys.argv[1], sys.argv[2]
    dim, m, ef_construction, k = (int(x) for x in sys.argv[3:7])
    efs = [int(x) for x in sys.argv[7].split(",")]
    base = np.fromfile(base_path, dtype="<f4").reshape(-1, dim)
    queries = np.fromfile(query_path, dtype="<f4").reshape(-1, dim)

    index = hnswlib.Index(space="l2", dim=dim)
    # One-thread add_items runs on the calling thread: time it in this thread's CPU time.
    start = time.thread_time()
    index.init_index(max_elements=len(base), M=m, ef_construction=ef_construction, random_seed=100)
    index.add_items(base, np.arange(len(base)), num_threads=1)
    build = time.thread_time() - start

    # The same build on 2 threads, wall-clock, for the parallel-build comparison.
    parallel = hnswlib.Index(space="l2", dim=dim)
    start = time.perf_counter()
    parallel.init_index(max_elements=len(base), M=m, ef_construction=ef_construction, random_seed=100)
    parallel.add_items(base, np.arange(len(base)), num_threads=2)
    build2 = time.perf_counter() - start
    del parallel

    runs = []
    for ef in efs:
        index.set_ef(ef)
        row = {"ef": ef}
        # Best of five; one thread is timed in CPU time of this thread (hnswlib runs a
        # one-thread batch on the calling thread), two threads in wall-clock time, as on
        # the Rust side.
        for threads, clock in ((1, time.thread_time), (2, time.perf_counter)):
            best = 0.0
            for _ in range(REPEATS):
                start = clock()
                labels, _ = index.knn_query(queries, k=k, num_threads=threads)
                best = max(best, len(queries) / max(clock() - start, 1e-9))
            row[f"qps{threads}"] = best
        row["ids"] = labels.astype(int).tolist()
        runs.append(row)

    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    json.dump({"build_s": build, "build2_wall_s": build2, "peak_rss_mib": peak_kib / 1024, "runs": runs}, sys.stdout)


if __name__ == "__main__":
    main()
