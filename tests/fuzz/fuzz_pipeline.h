/*
 * The pipeline fuzz harness (fuzz_pipeline.c) as the corpus replay
 * (replay_pipeline.c) sees it: the libFuzzer entry point, and the drop
 * counters of every pipeline it runs, summed.
 */
#ifndef PKTMETAL_TESTS_FUZZ_PIPELINE_H
#define PKTMETAL_TESTS_FUZZ_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "net/drop.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* drops[r] = packets dropped for reason r by the router, bridge and l2fwd
 * pipelines together, over every input run so far. */
void fuzz_pipeline_drops(uint64_t drops[DROP__COUNT]);

#endif
