/*
 * 16550 UART driver, polled.
 *
 * Registers (National PC16550D datasheet, table 2), offsets from the base port:
 *   0 THR/RBR (DLL when LCR.DLAB)   1 IER (DLM when LCR.DLAB)
 *   2 FCR     3 LCR   4 MCR   5 LSR   7 SCR (scratch)
 * QEMU's model (hw/char/serial.c) sends THR bytes to its chardev at once, so
 * the THRE wait below almost never spins; it is bounded anyway so a wedged
 * UART cannot hang an exception dump.
 */
#include "kernel/serial.h"

#include "kernel/io.h"

#define UART_THR 0
#define UART_RBR 0
#define UART_DLL 0
#define UART_IER 1
#define UART_DLM 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_SCR 7

#define LCR_8N1   0x03
#define LCR_DLAB  0x80
/* FIFO on, RX and TX FIFOs cleared, RX trigger level 14 bytes. The trigger
 * level matters even though we poll: QEMU's UART hands the guest only as
 * many bytes at a time as the trigger level (hw/char/serial.c,
 * serial_can_receive), so at level 1 a long control line crawls in one byte
 * per poll. */
#define FCR_ENABLE_CLEAR 0xc7
#define MCR_DTR_RTS 0x03        /* OUT2 left off: no interrupts reach the PIC */
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY  0x20

#define THRE_SPIN_LIMIT 100000

void serial_init(struct serial_port *sp, uint16_t base)
{
    sp->base = base;
    pio_write8(base + UART_SCR, 0x5a);
    if (pio_read8(base + UART_SCR) != 0x5a) {
        sp->present = false;
        return;
    }
    pio_write8(base + UART_SCR, 0xa5);
    sp->present = pio_read8(base + UART_SCR) == 0xa5;
    if (!sp->present)
        return;
    pio_write8(base + UART_IER, 0);
    pio_write8(base + UART_LCR, LCR_DLAB);
    pio_write8(base + UART_DLL, 1);              /* 115200 / 1 */
    pio_write8(base + UART_DLM, 0);
    pio_write8(base + UART_LCR, LCR_8N1);
    pio_write8(base + UART_FCR, FCR_ENABLE_CLEAR);
    pio_write8(base + UART_MCR, MCR_DTR_RTS);
}

static void serial_put(const struct serial_port *sp, char c)
{
    for (int i = 0; i < THRE_SPIN_LIMIT; i++)
        if (pio_read8(sp->base + UART_LSR) & LSR_THR_EMPTY)
            break;
    pio_write8(sp->base + UART_THR, (uint8_t)c);
}

void serial_write(const struct serial_port *sp, const char *s, size_t n)
{
    if (!sp->present)
        return;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n')
            serial_put(sp, '\r');
        serial_put(sp, s[i]);
    }
}

int serial_poll_byte(const struct serial_port *sp)
{
    if (!sp->present || !(pio_read8(sp->base + UART_LSR) & LSR_DATA_READY))
        return -1;
    return pio_read8(sp->base + UART_RBR);
}
