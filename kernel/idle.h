/*
 * Adaptive idle (DESIGN.md, Idle): when polls keep finding nothing, halt the
 * CPU until a local APIC timer fires, backing off from idle-min-us to
 * idle-max-us while the quiet lasts; any packet resets the back-off. The
 * hot path never pays for it: the decision is taken only after an empty poll.
 */
#ifndef PKTMETAL_KERNEL_IDLE_H
#define PKTMETAL_KERNEL_IDLE_H

#include <stdbool.h>
#include <stdint.h>

#include "net/config.h"

struct idle_stats {
    uint64_t halts;
    uint64_t halted_ns;
};

/* Returns false (and idles never) when halting is off or the APIC is unusable. */
bool idle_init(const struct config *cfg, uint64_t lapic_base);
/* After each poll: packets it found. May halt for a while. */
void idle_after_poll(unsigned nb_packets);
void idle_get_stats(struct idle_stats *out);

#endif
