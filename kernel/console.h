/*
 * The two serial lines as the kernel uses them (DESIGN.md, Interfaces):
 * kprintf() writes the human console (COM1); ctl_printf() writes the control
 * channel (COM2), or COM1 when no second UART is wired. console_poll() reads
 * typed characters from COM1 without blocking and runs a command when a line
 * is complete.
 */
#ifndef PKTMETAL_KERNEL_CONSOLE_H
#define PKTMETAL_KERNEL_CONSOLE_H

#include <stdbool.h>

#include "kernel/serial.h"

struct console_cmd {
    const char *name;
    const char *help;
    void (*run)(const char *args);
};

void console_init(void);
bool console_has_control_channel(void);
int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int ctl_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Table of commands, NULL-name terminated; `help` is built in. */
void console_set_commands(const struct console_cmd *cmds);
/* Polls COM1 (and COM2, whose commands are answered on COM2) for input. */
void console_poll(void);

#endif
