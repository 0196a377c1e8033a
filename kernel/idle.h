/*
 * Adaptive idle (DESIGN.md, Idle): when polls keep finding nothing, halt the
 * CPU. The hot path never pays for it: the decision is taken only after an
 * empty poll. Two ways to wake up:
 *
 *   - timer only: a one-shot local APIC timer ends each halt, backing off
 *     from idle-min-us to idle-max-us while the quiet lasts; any packet
 *     resets the back-off. A frame waits for the timer, so halts stay short
 *     and every wake-up costs the host (under TCG ~28 us each).
 *   - wake on receive, when every forwarding port can interrupt the CPU on
 *     a received frame (netdev rx_wake: virtio-net's MSI-X): each halt
 *     lasts up to idle-wake-max-us, and the first frame on any port ends it.
 *     The ports are asked to interrupt only right before the halt and are
 *     told to stop right after it, so the packet path stays polled.
 *
 * With wake on receive, idle-batch K US (off by default) also halts while
 * traffic flows: after a poll that found fewer than K frames, or none right
 * after one that found some, until K frames wait on a port (virtio-net: one
 * interrupt for the batch, EVENT_IDX's used_event K - 1 ahead) or US pass.
 * The vCPU then gives its host core back between bursts instead of
 * spinning idle-polls times; a frame waits at most US longer.
 *
 * Either way the console and the periodic work run after each wake-up, so
 * they answer within one halt.
 */
#ifndef PKTMETAL_KERNEL_IDLE_H
#define PKTMETAL_KERNEL_IDLE_H

#include <stdbool.h>
#include <stdint.h>

#include "net/config.h"
#include "net/netdev.h"

#define IDLE_PORTS_MAX 8

struct idle_stats {
    uint64_t halts;
    uint64_t halted_ns;
    uint64_t woken_early;     /* halts ended before their timer: a frame, in practice */
    uint64_t wake_races;      /* halts skipped: the frames came while the ports were armed */
    uint64_t batch_halts;     /* of halts: idle-batch's, waiting for a batch while traffic flows */
};

/*
 * The MSI message a NIC sends to end a halt (APIC_RX_WAKE_VECTOR on this
 * CPU), for drivers that can wake the CPU. *addr = 0 when idle-halt is off
 * or idle-wake-max-us is 0: then no NIC should interrupt at all.
 */
void idle_rx_wake_msi(const struct config *cfg, uint64_t *addr, uint32_t *data);

/* A forwarding port whose traffic should end a halt; call before idle_init. */
void idle_watch_port(struct netdev *dev);

/* Returns false (and idles never) when halting is off or the APIC is
 * unusable. Picks wake on receive when every watched port can do it. */
bool idle_init(const struct config *cfg, uint64_t lapic_base);
/* After each poll: packets it found. May halt for a while, even after a
 * poll that found some (idle-batch). */
void idle_after_poll(unsigned nb_packets);
void idle_get_stats(struct idle_stats *out);

#endif
