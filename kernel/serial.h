/*
 * 16550 UART, polled (no interrupts): COM1 is the human console, COM2 the
 * control channel for tools (DESIGN.md, Interfaces to the outside).
 */
#ifndef PKTMETAL_KERNEL_SERIAL_H
#define PKTMETAL_KERNEL_SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SERIAL_COM1 0x3f8
#define SERIAL_COM2 0x2f8

struct serial_port {
    uint16_t base;
    bool present;
};

/* Probes the UART through its scratch register and programs 115200 8N1 with
 * FIFOs on; present=false when nothing answers (QEMU given one -serial). */
void serial_init(struct serial_port *sp, uint16_t base);
void serial_write(const struct serial_port *sp, const char *s, size_t n);
/* Next received byte, or -1 when none is waiting. Never blocks. */
int serial_poll_byte(const struct serial_port *sp);

#endif
