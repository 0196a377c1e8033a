/*
 * The forwarding decisions of the packet I/O modes (DESIGN.md, Modes):
 *
 *   l2fwd    port pairs 0<->1, 2<->3, ... as DPDK's l2fwd example: a frame
 *            leaves by its input port's pair with source MAC = the output
 *            port's MAC and destination MAC = that port's configured peer
 *            (`port N peer-mac`), or 02:00:00:00:00:NN when none is set,
 *            as l2fwd does.
 *   reflect  back out the input port with source and destination swapped.
 *
 * Pure functions over frame bytes, so the host tests run them as they are.
 */
#ifndef PKTMETAL_NET_FWD_H
#define PKTMETAL_NET_FWD_H

#include <stdbool.h>
#include <stdint.h>

#include "net/config.h"

#define FWD_NO_PORT 0xffff

/* Output port for a frame received on in_port, or FWD_NO_PORT when the mode
 * has nowhere to send it (an unpaired last port in l2fwd). */
uint16_t fwd_out_port(enum config_mode mode, uint16_t in_port, uint16_t nb_ports);

/* Destination MAC l2fwd writes for frames leaving `port`. */
void fwd_peer_mac(const struct config *cfg, uint16_t port, uint8_t mac[6]);

/* Rewrites the Ethernet addresses of a frame of at least 12 bytes. */
void fwd_rewrite_l2fwd(uint8_t *frame, const uint8_t out_mac[6], const uint8_t peer_mac[6]);
void fwd_rewrite_reflect(uint8_t *frame);

#endif
