/*
 * Neighbour (ARP) table: the router's map from an on-link IPv4 address to
 * the Ethernet address frames for it are sent to (RFC 826), with the states
 * of RFC 1122 2.3.2 / RFC 4861 7.3.2 reduced to what a router needs, and a
 * short queue of packets parked while an address is being resolved.
 *
 * This is storage and bookkeeping only: hash lookup, allocation (evicting
 * an idle entry when full, if the caller allows), the parked queue. The
 * router (router.c) drives the state machine, because every transition that
 * matters sends an ARP request, emits parked packets or drops them.
 *
 *   INCOMPLETE --ARP heard--> REACHABLE --reachable time--> STALE
 *       |                        ^                            | next use
 *       | no answer              |  ARP heard                 v
 *       v                        +-------------------------- PROBE (MAC still used)
 *     FAILED <------------------------------- no answer ------+
 *       | hold-down over: next use resolves again, or the slot is freed
 *
 *   STATIC: configured, never aged or overwritten by ARP.
 */
#ifndef PKTMETAL_NET_NEIGH_H
#define PKTMETAL_NET_NEIGH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/pktbuf.h"

#define NEIGH_QUEUE_LEN 8          /* packets parked per unresolved entry */
#define NEIGH_NIL       0xffffffffu /* "no entry" in chains and the free list */

enum neigh_state {
    NEIGH_FREE,         /* slot unused */
    NEIGH_INCOMPLETE,   /* ARP request out, no MAC yet; packets are parked */
    NEIGH_REACHABLE,    /* MAC heard from the neighbour recently */
    NEIGH_STALE,        /* MAC older than the reachable time; still usable */
    NEIGH_PROBE,        /* stale MAC in use while requests re-confirm it */
    NEIGH_FAILED,       /* no answer: packets dropped until the hold-down ends */
    NEIGH_STATIC,       /* configured */
};

struct neigh {
    uint32_t ip;                /* host order */
    uint32_t hash_next;         /* next entry of the bucket (or of the free list) */
    uint8_t state;              /* enum neigh_state */
    uint8_t nb_probes;          /* ARP requests sent for the current resolution */
    uint8_t nb_queued;          /* parked packets */
    uint8_t port;
    uint8_t mac[6];
    uint8_t flags;              /* NEIGH_F_* */
    uint64_t changed_ns;        /* MAC confirmed (REACHABLE/STALE/PROBE), resolution
                                 * started (INCOMPLETE), failed (FAILED) */
    uint64_t used_ns;           /* last forwarded through: eviction order */
    uint64_t next_probe_ns;     /* INCOMPLETE/PROBE: when the next request is due */
};
_Static_assert(sizeof(struct neigh) == 48, "neighbour entries stay small for the tick's walk");

/* Something was forwarded through this neighbour since its entry was made.
 * An entry without it was learned from an ARP packet alone, and may be
 * reused for a next hop even while REACHABLE. */
#define NEIGH_F_USED 0x01

struct neigh_table {
    uint32_t nb_entries;
    uint32_t nb_used;
    uint32_t bucket_shift;      /* 32 - log2(number of buckets) */
    uint32_t free_head;
    uint32_t gen;               /* generation: moves on with every change of an entry's
                                 * address, state, MAC or port (never 0) */
    struct neigh *entries;
    struct pktbuf *(*queues)[NEIGH_QUEUE_LEN];   /* one queue per entry */
    uint32_t *buckets;
};

/* Bytes neigh_table_init needs for nb_entries (8-byte aligned memory). */
size_t neigh_table_mem_bytes(uint32_t nb_entries);
/* An empty table in [mem, mem + bytes); false if nb_entries is 0 or above
 * 2^24, or bytes is too small. */
bool neigh_table_init(struct neigh_table *t, void *mem, size_t bytes, uint32_t nb_entries);

struct neigh *neigh_find(struct neigh_table *t, uint32_t ip);
/* A new INCOMPLETE entry for ip (which must not be in the table), flags
 * clear. When the table is full and may_evict is set, an idle entry is
 * reused: nothing parked on it, and STALE, FAILED, or REACHABLE but never
 * used; never-used entries first, then the least recently used. NULL if
 * there is none (every entry resolving, in use or static) or eviction was
 * not allowed. */
struct neigh *neigh_alloc(struct neigh_table *t, uint32_t ip, uint8_t port, uint64_t now_ns,
                          bool may_evict);
/* Records that a packet is being sent through n now (inline: the
 * forwarding fast path does it per packet). */
static inline void neigh_touch(struct neigh *n, uint64_t now_ns)
{
    n->used_ns = now_ns;
    n->flags |= NEIGH_F_USED;
}
/* Called by whoever changes an entry's state or MAC, so that copies taken
 * of it at an older generation are known to be stale. */
static inline void neigh_table_changed(struct neigh_table *t)
{
    t->gen = t->gen + 1 != 0 ? t->gen + 1 : 1;
}
/* Returns the slot; its queue must be empty. */
void neigh_release(struct neigh_table *t, struct neigh *n);

/* Appends pkt to n's queue; false when NEIGH_QUEUE_LEN are already parked. */
bool neigh_park(struct neigh_table *t, struct neigh *n, struct pktbuf *pkt);
/* Moves n's parked packets, oldest first, to out; returns how many. */
unsigned neigh_unpark(struct neigh_table *t, struct neigh *n,
                      struct pktbuf *out[NEIGH_QUEUE_LEN]);

const char *neigh_state_name(enum neigh_state s);

#endif
