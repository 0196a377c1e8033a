/*
 * Ports: the NICs bound to drivers, numbered in PCI address order (DESIGN.md,
 * Interfaces), the packet pool they share, and the forwarding loop's per-port
 * work (DESIGN.md, Hot path).
 */
#ifndef PKTMETAL_KERNEL_PORTS_H
#define PKTMETAL_KERNEL_PORTS_H

#include <stdint.h>

#include "kernel/pci.h"
#include "net/config.h"

#define PORTS_MAX CONFIG_MAX_PORTS
#define PORTS_BURST 32

/* Builds the pool over the arena and binds every recognised NIC. Prints one
 * line per port and the pool/working-set line. Returns the number of ports
 * or a negative PM_E* when a NIC could not be brought up. */
/* The NICs a driver will bind: the ports, numbered in PCI order. */
unsigned ports_nb_nics(const struct pci_dev *devs, int nb_devs);
int ports_init(const struct config *cfg, const struct pci_cfg_ops *pci,
               const struct pci_dev *devs, int nb_devs, void *arena, uint64_t arena_bytes,
               uint32_t llc_bytes, uint64_t epoch_ns);
/* One pass over every port: receive a burst, forward it, one doorbell per
 * burst. Returns the packets received. */
unsigned ports_poll(void);
/* Once per stats interval: the STATS line, and a counter line per active port. */
void ports_tick(uint64_t interval_ns);
/* Stops every port, returns their buffers, prints the final counters and the
 * pool's in_use against its baseline. */
void ports_stop(void);
void ports_print_stats(void);
/* The STATS {json} line on COM1, now (`stats json`). */
void ports_print_stats_json(void);
/* Link state (every 10 ms), and the timers of the mode: ARP retries and
 * expiry, bridge ageing. Call every few ms. */
void ports_housekeeping(uint64_t now_ns);
void ports_print_routes(void);
void ports_print_arp(void);
void ports_print_acl(void);
void ports_print_macs(void);
/* `capture start|stop|status ...` (net/capture.h); the reply is printed. */
void ports_capture_command(const char *args);

#endif
