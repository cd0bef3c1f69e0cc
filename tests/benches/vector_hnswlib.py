"""The hnswlib side of `cargo bench -p strata-tests --bench vector`.

Reads the base and query vectors the Rust benchmark wrote (raw little-endian f32), then
answers one command per line on stdin with one JSON object per line on stdout, so the
Rust side can run hnswlib's rounds alternating with its own (paired rounds):

  build THREADS        build an index of the base vectors with the given parameters on
                       THREADS threads; {"secs": ...}. One thread is timed in CPU time of
                       this thread (a one-thread add_items runs on the calling thread), more
                       in wall-clock time, as on the Rust side. The one-thread build becomes
                       the index queries use; a build on more threads is discarded.
  query EF THREADS IDS search every query at EF on THREADS threads, timed the same way;
                       {"secs": ...}, plus "ids" (per query) when IDS is 1.
  rss                  {"peak_rss_mib": ...}: this process's peak resident set.

usage: vector_hnswlib.py BASE QUERIES DIM M EF_CONSTRUCTION K
"""

import json
import resource
import sys
import time

import hnswlib
import numpy as np


def clock(threads):
    return time.thread_time if threads == 1 else time.perf_counter


def main():
    base_path, query_path = sys.argv[1], sys.argv[2]
    dim, m, ef_construction, k = (int(x) for x in sys.argv[3:7])
    base = np.fromfile(base_path, dtype="<f4").reshape(-1, dim)
    queries = np.fromfile(query_path, dtype="<f4").reshape(-1, dim)
    index = None

    def build(threads):
        built = hnswlib.Index(space="l2", dim=dim)
        now = clock(threads)
        start = now()
        built.init_index(max_elements=len(base), M=m, ef_construction=ef_construction, random_seed=100)
        built.add_items(base, np.arange(len(base)), num_threads=threads)
        return built, now() - start

    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "build":
            threads = int(words[1])
            if threads == 1:
                index = None  # free the last one first, so only one build's memory is held
                index, secs = build(1)
            else:
                built, secs = build(threads)
                del built
            reply = {"secs": secs}
        elif words[0] == "query":
            ef, threads, want_ids = (int(x) for x in words[1:4])
            index.set_ef(ef)
            now = clock(threads)
            start = now()
            labels, _ = index.knn_query(queries, k=k, num_threads=threads)
            reply = {"secs": now() - start}
            if want_ids:
                reply["ids"] = labels.astype(int).tolist()
        elif words[0] == "rss":
            reply = {"peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
        else:
            raise SystemExit(f"unknown command {words[0]!r}")
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
