/*
 * Transparent learning bridge (DESIGN.md, Modes: bridge): a MAC table keyed
 * by (VLAN, MAC) when VLAN-aware, by MAC otherwise, learned from source
 * addresses, aged out after age_ns without traffic. Unknown unicast,
 * broadcast and multicast flood to every port but the input one; a frame is
 * never sent back out its input port.
 */
#ifndef PKTMETAL_NET_BRIDGE_H
#define PKTMETAL_NET_BRIDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BRIDGE_FLOOD      0xfffe    /* bridge_forward: send to all other ports */
#define BRIDGE_SAME_PORT  0xffff    /* destination lives on the input port: filter */

struct bridge;

struct bridge_stats {
    uint32_t nb_entries;
    uint64_t learned, moved, aged, table_full;
};

size_t bridge_mem_bytes(uint32_t max_entries);
/* max_entries is rounded up to a power of two. NULL if bytes is too small. */
struct bridge *bridge_create(void *mem, size_t bytes, uint32_t max_entries, uint64_t age_ns,
                             bool vlan_aware);
/* Learns (vlan, src) on in_port, then returns the output port for dst:
 * a port number, BRIDGE_FLOOD or BRIDGE_SAME_PORT. vlan is ignored unless
 * the bridge is VLAN-aware. A multicast/broadcast source is never learned. */
uint16_t bridge_forward(struct bridge *b, const uint8_t dst[6], const uint8_t src[6],
                        uint16_t vlan, uint16_t in_port, uint64_t now_ns);
/* Removes entries idle for longer than age_ns; call about once a second. */
void bridge_age(struct bridge *b, uint64_t now_ns);
void bridge_get_stats(const struct bridge *b, struct bridge_stats *out);
/* The `macs` console command. */
void bridge_print(const struct bridge *b, uint64_t now_ns, int (*print)(const char *fmt, ...));

#endif
